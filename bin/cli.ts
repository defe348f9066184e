/**
 * @file The command-line framework: every subcommand is a `Command` in its own file under
 * bin/commands/, with typed options parsed by node:util's parseArgs and a `--help` text.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../engine/errors.js';

export type OptionSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  default?: string | boolean | string[];
  /** One line for --help; the value's name comes first, e.g. 'FILE  the checkpoint'. */
  help: string;
};

export interface Command {
  name: string;
  summary: string;
  /** The usage line(s) after `yoloxq <name>`. */
  usage: string;
  options: Record<string, OptionSpec>;
  run(opts: Record<string, unknown>, positionals: string[]): Promise<void> | void;
}

/** The --help text of a command. */
export function helpText(cmd: Command): string {
  const lines = [`yoloxq ${cmd.name} — ${cmd.summary}`, '', `usage: yoloxq ${cmd.name} ${cmd.usage}`, ''];
  const entries = Object.entries(cmd.options);
  if (entries.length > 0) lines.push('options:');
  for (const [name, spec] of entries) {
    const flag = `--${name}${spec.short ? `, -${spec.short}` : ''}`;
    const shown = spec.default !== undefined && spec.default !== false && spec.default !== '';
    const def = shown ? ` (default ${spec.default})` : '';
    lines.push(`  ${flag.padEnd(18)} ${spec.help}${def}`);
  }
  lines.push(`  ${'--help'.padEnd(18)} this text`);
  return lines.join('\n');
}

/** Parses argv for `cmd`; unknown flags and missing values are UserErrors. */
export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(cmd.options)) {
    // parseArgs rejects keys that are present but undefined: copy only the defined ones.
    const o: Record<string, unknown> = { type: spec.type };
    if (spec.multiple !== undefined) o.multiple = spec.multiple;
    if (spec.short !== undefined) o.short = spec.short;
    if (spec.default !== undefined) o.default = spec.default;
    options[name] = o as unknown as (typeof options)[string];
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError(`${cmd.name}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** A required string option, or a UserError naming the flag. */
export function requireString(cmd: string, opts: Record<string, unknown>, name: string): string {
  const v = opts[name];
  if (typeof v !== 'string' || v.length === 0) throw new UserError(`${cmd}: --${name} is required`);
  return v;
}

/** A numeric option (integer when `integer`), with its range checked. */
export function numberOption(
  cmd: string,
  opts: Record<string, unknown>,
  name: string,
  fallback: number,
  { integer = false, min = -Infinity, max = Infinity } = {},
): number {
  const v = opts[name];
  if (v === undefined || v === '') return fallback;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw new UserError(`${cmd}: --${name} must be ${integer ? 'an integer' : 'a number'}, got '${String(v)}'`);
  }
  if (x < min || x > max) throw new UserError(`${cmd}: --${name} must be in [${min}, ${max}], got ${x}`);
  return x;
}
