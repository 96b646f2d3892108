import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/** What node:util parseArgs gives for these options, parsed strictly. */
export type OptionValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true }>
>['values'];

/** A command line a simulator cannot run with; the message names the option. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * A whole-number option (decimal digits only) from `min` to `max`, e.g. `integerOption('10', '--terminals', 1)`.
 * The message says the range: "a whole number" (from 0), "a positive integer" (from 1) or "an integer from … to …".
 */
export function integerOption(text: string, name: string, min: number, max?: number): number {
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new CliError(`${name} must be ${range(min, max)}, got "${text.slice(0, 40)}"`);
  }
  return value;
}

/** `--port`: 0 (a free port) to 65535. */
export function portOption(text: string): number {
  return integerOption(text, '--port', 0, 65535);
}

function range(min: number, max: number | undefined): string {
  if (max !== undefined) return `an integer from ${min} to ${max}`;
  if (min === 0) return 'a whole number';
  if (min === 1) return 'a positive integer';
  return `an integer of at least ${min}`;
}

/**
 * Resolves with the first SIGINT or SIGTERM, and stops listening for both then: a second signal while the
 * simulator closes ends the process the default way.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Parses a simulator's command line strictly: an unknown option, a positional or a missing value throws. `options`
 * declares `--help`; when it is given, `help` is printed and the result is undefined (the caller just returns).
 */
export function parseCommandLine<O extends OptionsConfig & { help: { type: 'boolean' } }>(
  argv: string[],
  options: O,
  help: string,
): OptionValues<O> | undefined {
  const { values } = parseArgs({ args: argv, options, strict: true });
  if ((values as { help?: boolean }).help) {
    process.stdout.write(help);
    return undefined;
  }
  return values;
}

/** The options both terminal fleets (antom-fleet, adyen-fleet) take, with their defaults. */
export function fleetCliOptions(defaults: { port: string; keysDir: string }) {
  return {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: defaults.port },
    'keys-dir': { type: 'string', default: defaults.keysDir },
    faults: { type: 'string' },
    registry: { type: 'string' },
    stores: { type: 'string', default: '1' },
    record: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  } as const;
}
