import type { CommandSpec } from '../cli';
import { BRIDGE_CERTIFY_COMMAND } from './bridge';
import { EASYCARD_COMMANDS } from './easycard';
import { EDC_COMMANDS } from './edc';
import { EDC_SETTLE_COMMAND } from './edc-settle';
import { ORDER_COMMANDS } from './orders';
import { PROVISION_COMMANDS } from './provision';
import { TERMINAL_COMMANDS } from './terminals';

/** Every `tillbus` command, in the order `tillbus --help` lists them. */
export const COMMANDS: CommandSpec[] = [
  ...TERMINAL_COMMANDS,
  ...EDC_COMMANDS,
  EDC_SETTLE_COMMAND,
  ...ORDER_COMMANDS,
  ...EASYCARD_COMMANDS,
  BRIDGE_CERTIFY_COMMAND,
  ...PROVISION_COMMANDS,
];
