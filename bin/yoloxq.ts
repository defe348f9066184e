#!/usr/bin/env node
/**
 * @file `yoloxq`: the command-line entry point. A user mistake (UserError) prints one line and
 * exits with code 2; anything else is a bug and keeps its stack trace.
 */
import { UserError } from '../engine/errors.js';
import { helpText, parseCommandArgs } from './cli.js';
import { COMMANDS } from './commands.js';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'yoloxq — YOLO-X Tiny in pure TypeScript: FP32, power-of-two INT8 PTQ/QAT, COCO mAP, ONNX export',
    '',
    'usage: yoloxq <command> [options]   (yoloxq <command> --help for its options)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd === undefined) throw new UserError(`unknown command '${name}' (yoloxq --help lists them)`);
  const { values, positionals } = parseCommandArgs(cmd, rest);
  if (values.help === true) {
    console.log(helpText(cmd));
    return 0;
  }
  await cmd.run(values, positionals);
  return 0;
}

// `yoloxq … | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UserError) {
      console.error(`yoloxq: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
