import type { CommandSpec } from '../cli';
import { EASYCARD_COMMANDS } from './easycard';
import { ORDER_COMMANDS } from './orders';

/** Every `tillbus` command, in the order `tillbus --help` lists them. */
export const COMMANDS: CommandSpec[] = [...ORDER_COMMANDS, ...EASYCARD_COMMANDS];
