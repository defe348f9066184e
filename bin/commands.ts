/**
 * @file The table of subcommands. Each lives in bin/commands/<name>.ts.
 */
import type { Command } from './cli.js';
import { startCommand } from './commands/start.js';
import { datasetCommand } from './commands/dataset.js';
import { cocoevalCommand } from './commands/cocoeval.js';
import { detectCommand } from './commands/detect.js';
import { dumpCommand } from './commands/dump.js';
import { evalCommand } from './commands/eval.js';
import { ptqCommand } from './commands/ptq.js';
import { exportCommand } from './commands/export.js';
import { qatCommand } from './commands/qat.js';
import { trainCommand } from './commands/train.js';
import { gradCommand } from './commands/grad.js';
import { goldenCommand } from './commands/golden.js';

export const COMMANDS: readonly Command[] = [
  startCommand, cocoevalCommand, datasetCommand, detectCommand, dumpCommand, evalCommand,
  ptqCommand, gradCommand, trainCommand, exportCommand, qatCommand, goldenCommand,
];
