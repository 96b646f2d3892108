import type { CommandSpec } from '../cli';

export const COMMANDS: CommandSpec[] = [];
