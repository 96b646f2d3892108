import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliBus, type BusOptions } from './bus';
import { CliError, EXIT, exitCodeFor, UsageError } from './errors';

export type OptionSpec = { type: 'string' | 'boolean'; description: string; short?: string };

export interface CommandInput {
  /** Positional arguments by name. */
  args: Record<string, string>;
  options: Record<string, string | boolean | undefined>;
}

export interface CommandContext {
  bus: CliBus;
  /** The environment (settings such as STREAM_REPLICAS for `tillbus provision`). */
  env: Record<string, string | undefined>;
  json: boolean;
  now: () => number;
  /** A live line for people (progress); nothing in --json mode. */
  progress(line: string): void;
}

export interface CommandResult {
  /** What --json prints. */
  data: unknown;
  /** What a person sees. */
  text: string;
  /** Non-zero when the command ran but its outcome is a failure (a declined purchase); the code is shown. */
  failure?: { code: string; message: string };
}

export interface CommandSpec {
  /** Group and verb: `terminals list`. */
  group: string;
  verb: string;
  /** Positional names, with `?` for optional ones: `['deviceId', 'amount']`. */
  args: string[];
  options?: Record<string, OptionSpec>;
  summary: string;
  /** Longer help: examples, what the output means. */
  help?: string;
  run(ctx: CommandContext, input: CommandInput): Promise<CommandResult>;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  now?: () => number;
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print JSON for scripts instead of tables' },
  nats: {
    type: 'string',
    description: 'NATS server URL(s), comma-separated (default: NATS_URL or nats://127.0.0.1:4222)',
  },
  timeout: {
    type: 'string',
    description: 'milliseconds to wait for each answer (default 5000)',
  },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Runs one CLI invocation and returns the exit code; never throws. */
export async function runCli(
  argv: string[],
  commands: readonly CommandSpec[],
  io: CliIo,
): Promise<number> {
  let json = argv.includes('--json');
  let bus: CliBus | undefined;
  try {
    const { command, input, globals } = parseCommandLine(argv, commands);
    json = globals.json;
    if (globals.help || !command) {
      io.stdout(helpText(commands, command, input.args['group']));
      return EXIT.ok;
    }
    bus = new CliBus(busOptionsFromEnv(io.env, globals));
    const result = await command.run(
      {
        bus,
        env: io.env,
        json,
        now: io.now ?? Date.now,
        progress: (line) => {
          if (!json) io.stdout(`${line}\n`);
        },
      },
      input,
    );
    io.stdout(json ? `${JSON.stringify(result.data, null, 2)}\n` : `${result.text}\n`);
    if (result.failure) {
      io.stderr(`error [${result.failure.code}]: ${result.failure.message}\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  } catch (error) {
    const failure =
      error instanceof CliError
        ? error
        : new CliError('INTERNAL_ERROR', (error as Error)?.message ?? String(error), EXIT.failed);
    if (json) {
      io.stdout(
        `${JSON.stringify({ error: { code: failure.code, message: failure.message, details: failure.details } }, null, 2)}\n`,
      );
    }
    io.stderr(`error [${failure.code}]: ${failure.message}\n`);
    if (failure.hint) io.stderr(`hint: ${failure.hint}\n`);
    return failure instanceof CliError && failure.exitCode !== EXIT.failed
      ? failure.exitCode
      : exitCodeFor(failure.code);
  } finally {
    await bus?.close();
  }
}

/**
 * NATS_URL, NATS_USER, NATS_PASSWORD; replies on `_INBOX_<user>` (or NATS_INBOX_PREFIX), the prefix auth.conf
 * reserves for that user; NATS_TLS_CA_FILE (and NATS_TLS_CERT_FILE/NATS_TLS_KEY_FILE) to verify the servers.
 */
export function busOptionsFromEnv(
  env: Record<string, string | undefined>,
  globals: Pick<Globals, 'nats' | 'timeoutMs'> & Partial<Pick<Globals, 'timeoutGiven'>>,
): BusOptions {
  const user = env.NATS_USER || undefined;
  const inboxPrefix = env.NATS_INBOX_PREFIX || (user ? `_INBOX_${user}` : undefined);
  if (inboxPrefix !== undefined && !/^_INBOX[A-Za-z0-9_-]*$/.test(inboxPrefix)) {
    throw new UsageError(
      `NATS_INBOX_PREFIX (or NATS_USER) gives the reply prefix "${inboxPrefix}"`,
      'it must start with _INBOX and hold only letters, digits, _ and -',
    );
  }
  // The local stack's own nats-server serves TLS with a CA in .tillbus/tls: found without a setting.
  const stackCa = join(env.STACK_STATE_DIR || '.tillbus', 'tls', 'ca.crt');
  const caFile = env.NATS_TLS_CA_FILE || (existsSync(stackCa) ? stackCa : undefined);
  const tls = {
    ...(caFile ? { caFile } : {}),
    ...(env.NATS_TLS_CERT_FILE ? { certFile: env.NATS_TLS_CERT_FILE } : {}),
    ...(env.NATS_TLS_KEY_FILE ? { keyFile: env.NATS_TLS_KEY_FILE } : {}),
  };
  return {
    servers: globals.nats ?? env.NATS_URL ?? 'nats://127.0.0.1:4222',
    user,
    pass: env.NATS_PASSWORD || undefined,
    timeoutMs: globals.timeoutMs,
    ...(globals.timeoutGiven ? { timeoutGiven: true } : {}),
    ...(inboxPrefix ? { inboxPrefix } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

interface Globals {
  json: boolean;
  help: boolean;
  nats?: string;
  timeoutMs: number;
  timeoutGiven: boolean;
}

/** Finds the command (its first two words) and parses its arguments strictly. */
export function parseCommandLine(
  argv: string[],
  commands: readonly CommandSpec[],
): { command?: CommandSpec; input: CommandInput; globals: Globals } {
  // First pass: which words are the command, knowing every option that takes a value.
  const allOptions: ParseArgsConfig['options'] = { ...toParseArgs(GLOBAL_OPTIONS) };
  for (const c of commands) Object.assign(allOptions, toParseArgs(c.options ?? {}));
  const loose = parseArgs({
    args: argv,
    options: allOptions,
    strict: false,
    allowPositionals: true,
  });
  const [group, verb] = loose.positionals;
  const help = loose.values.help === true;
  if (!group) {
    return { input: { args: {}, options: {} }, globals: globalsOf(loose.values, help) };
  }
  const inGroup = commands.filter((c) => c.group === group);
  if (inGroup.length === 0) {
    throw new UsageError(
      `unknown command "${group}"`,
      `commands: ${[...new Set(commands.map((c) => c.group))].join(', ')}; \`tillbus --help\` lists them all`,
    );
  }
  // A one-word command (`tillbus provision`) has the verb ''.
  const command =
    inGroup.find((c) => c.verb !== '' && c.verb === verb) ?? inGroup.find((c) => c.verb === '');
  if (!command) {
    if (help || verb === undefined) {
      return { input: { args: { group }, options: {} }, globals: globalsOf(loose.values, true) };
    }
    throw new UsageError(
      `unknown command "${group} ${verb}"`,
      `${group} commands: ${inGroup.map((c) => c.verb).join(', ')}`,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...toParseArgs(GLOBAL_OPTIONS), ...toParseArgs(command.options ?? {}) },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0], `usage: ${usage(command)}`);
  }
  const globals = globalsOf(parsed.values, help);
  if (help) return { command, input: { args: {}, options: {} }, globals };
  const positionals = parsed.positionals.slice(command.verb === '' ? 1 : 2);
  const required = command.args.filter((a) => !a.endsWith('?'));
  if (positionals.length < required.length) {
    const missing = required.slice(positionals.length).map((a) => `<${a}>`);
    throw new UsageError(`missing ${missing.join(' ')}`, `usage: ${usage(command)}`);
  }
  if (positionals.length > command.args.length) {
    throw new UsageError(
      `unexpected argument "${positionals[command.args.length]}"`,
      `usage: ${usage(command)}`,
    );
  }
  const args: Record<string, string> = {};
  command.args.forEach((name, i) => {
    if (positionals[i] !== undefined) args[name.replace(/\?$/, '')] = positionals[i];
  });
  const options: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(command.options ?? {})) {
    options[name] = parsed.values[name] as string | boolean | undefined;
  }
  return { command, input: { args, options }, globals };
}

function globalsOf(values: Record<string, unknown>, help: boolean): Globals {
  const timeout = values.timeout;
  let timeoutMs = 5000;
  if (typeof timeout === 'string') {
    timeoutMs = Number(timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 600_000) {
      throw new UsageError('--timeout must be a whole number of milliseconds from 50 to 600000');
    }
  }
  return {
    json: values.json === true,
    help,
    nats: typeof values.nats === 'string' ? values.nats : undefined,
    timeoutMs,
    timeoutGiven: typeof timeout === 'string',
  };
}

function toParseArgs(specs: Record<string, OptionSpec>): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, s]) => [
      name,
      s.short ? { type: s.type, short: s.short } : { type: s.type },
    ]),
  );
}

export function usage(command: CommandSpec): string {
  const args = command.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`));
  const options = Object.entries(command.options ?? {}).map(([name, s]) =>
    s.type === 'boolean' ? `[--${name}]` : `[--${name} <${name}>]`,
  );
  return ['tillbus', command.group, command.verb, ...args, ...options].filter(Boolean).join(' ');
}

export function helpText(
  commands: readonly CommandSpec[],
  command?: CommandSpec,
  group?: string,
): string {
  const globals = Object.entries(GLOBAL_OPTIONS)
    .map(([name, s]) => `  --${name.padEnd(10)} ${s.description}`)
    .join('\n');
  if (command) {
    const options = Object.entries(command.options ?? {})
      .map(([name, s]) => `  --${name.padEnd(14)} ${s.description}`)
      .join('\n');
    return [
      `usage: ${usage(command)}`,
      '',
      command.summary,
      command.help ? `\n${command.help}` : '',
      options ? `\noptions:\n${options}` : '',
      `\nglobal options:\n${globals}\n`,
    ]
      .filter((part) => part !== '')
      .join('\n');
  }
  const shown = group ? commands.filter((c) => c.group === group) : commands;
  const width = Math.max(...shown.map((c) => `${c.group} ${c.verb}`.length));
  const lines = shown.map((c) => `  ${`${c.group} ${c.verb}`.padEnd(width)}  ${c.summary}`);
  return [
    'tillbus: the operator CLI for tillbus, over NATS',
    '',
    `usage: tillbus <command> [arguments] [options]   (tillbus <command> --help for details)`,
    '',
    'commands:',
    ...lines,
    '',
    'global options:',
    globals,
    '',
    'exit codes: 0 ok; 1 the service answered with an error, or the outcome is a failure; 2 bad usage;',
    '            3 NATS or the service is not reachable; 4 no answer in time',
    '',
  ].join('\n');
}
