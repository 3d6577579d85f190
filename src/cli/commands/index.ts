/** Every `descent` command, in the order --help lists them. */
import type { Command } from '../command.js';
import { trainCommand } from './train.js';

export const commands: Command[] = [trainCommand];
