/** Every `descent` command, in the order --help lists them. */
import type { Command } from '../command.js';
import { trainCommand } from './train.js';
import { lrFindCommand } from './lr-find.js';
import { augmentCommand } from './augment.js';
import { surfaceCommand } from './surface.js';
import { compareCommand } from './compare.js';
import { scheduleCommand } from './schedule.js';
import { evalCommand } from './eval.js';
import { predictCommand } from './predict.js';
import { generateCommand } from './generate.js';
import { exportCommand } from './export.js';
import { summaryCommand } from './summary.js';
import { sweepCommand } from './sweep.js';
import { workerCommand } from './worker.js';
import '../ext/index.js'; // --schedule, --l1/--l2/--elastic-net/--max-norm, --ensemble/--snapshots

export const commands: Command[] = [
  trainCommand,
  lrFindCommand,
  augmentCommand,
  surfaceCommand,
  compareCommand,
  scheduleCommand,
  evalCommand,
  predictCommand,
  generateCommand,
  exportCommand,
  summaryCommand,
  sweepCommand,
  workerCommand,
];
