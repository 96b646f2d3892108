import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CliError,
  fleetCliOptions,
  integerOption,
  parseCommandLine,
  portOption,
  untilStopSignal,
} from './cli';

afterEach(() => vi.restoreAllMocks());

describe('integerOption', () => {
  it.each([
    ['0', 0, undefined, 0],
    ['42', 1, undefined, 42],
    ['1000000', 1, 1_000_000, 1_000_000],
    ['007', 0, 10, 7],
  ])('reads %j (from %d to %s)', (text, min, max, value) => {
    expect(integerOption(text, '--n', min, max)).toBe(value);
  });

  it.each([
    ['-1', 0, undefined, '--n must be a whole number, got "-1"'],
    ['0', 1, undefined, '--n must be a positive integer, got "0"'],
    ['1', 2, undefined, '--n must be an integer of at least 2, got "1"'],
    ['11', 0, 10, '--n must be an integer from 0 to 10, got "11"'],
    ['', 0, undefined, '--n must be a whole number, got ""'],
    ['1e3', 0, undefined, '--n must be a whole number, got "1e3"'],
    [' 5', 0, undefined, '--n must be a whole number, got " 5"'],
    ['5.0', 0, undefined, '--n must be a whole number, got "5.0"'],
    ['0x10', 0, undefined, '--n must be a whole number, got "0x10"'],
    ['99999999999999999', 0, undefined, '--n must be a whole number, got "99999999999999999"'],
  ])('refuses %j (from %d to %s)', (text, min, max, message) => {
    expect(() => integerOption(text, '--n', min, max)).toThrow(new CliError(message));
  });

  it('quotes at most 40 characters of what it was given', () => {
    expect(() => integerOption('x'.repeat(100), '--n', 0)).toThrow(`got "${'x'.repeat(40)}"`);
  });
});

describe('portOption', () => {
  it('takes 0 (a free port) to 65535', () => {
    expect(portOption('0')).toBe(0);
    expect(portOption('65535')).toBe(65535);
    expect(() => portOption('65536')).toThrow('--port must be an integer from 0 to 65535');
  });
});

describe('parseCommandLine', () => {
  const options = {
    name: { type: 'string', default: 'sim' },
    loud: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  } as const;

  it('gives the values, defaults filled in', () => {
    expect(parseCommandLine(['--loud'], options, 'HELP')).toEqual({
      name: 'sim',
      loud: true,
      help: false,
    });
  });

  it('prints the help and gives nothing with --help', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(parseCommandLine(['--name', 'x', '--help'], options, 'HELP TEXT\n')).toBeUndefined();
    expect(write).toHaveBeenCalledWith('HELP TEXT\n');
  });

  it.each([
    [['--nope'], /Unknown option '--nope'/],
    [['extra'], /Unexpected argument 'extra'/],
    [['--name'], /argument missing/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, options, 'HELP')).toThrow(message);
  });
});

describe('fleetCliOptions', () => {
  it('has the options both fleets share, with their own port and keys dir', () => {
    const values = parseCommandLine(
      [],
      fleetCliOptions({ port: '8081', keysDir: '.tillbus/x' }),
      'HELP',
    );
    expect(values).toEqual({
      host: '127.0.0.1',
      port: '8081',
      'keys-dir': '.tillbus/x',
      stores: '1',
      record: false,
      help: false,
    });
  });
});

describe('untilStopSignal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'resolves with %s and stops listening for both',
    async (signal) => {
      const before = {
        SIGINT: process.listenerCount('SIGINT'),
        SIGTERM: process.listenerCount('SIGTERM'),
      };
      const stopped = untilStopSignal();
      expect(process.listenerCount('SIGINT')).toBe(before.SIGINT + 1);
      expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM + 1);
      process.emit(signal, signal);
      await expect(stopped).resolves.toBe(signal);
      expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
      expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
    },
  );
});
