/** Every `descent` command, in the order --help lists them. */
import type { Command } from '../command.js';
import { trainCommand } from './train.js';
import { augmentCommand } from './augment.js';
import { surfaceCommand } from './surface.js';

export const commands: Command[] = [trainCommand, augmentCommand, surfaceCommand];
