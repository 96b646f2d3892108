import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CliError, HELP, main, parseCli } from './cli';

const dir = mkdtempSync(join(tmpdir(), 'intella-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function parsed(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const result = parseCli(argv, env);
  if (result.help) throw new Error('unexpected --help');
  return result;
}

describe('intella simulator CLI: parsing', () => {
  it('--help', () => {
    expect(parseCli(['--help'], {})).toEqual({ help: true });
    expect(HELP).toContain('--fault SPEC');
    expect(HELP).toContain('no-answer');
  });

  it('one merchant from flags, the password from an environment variable', () => {
    const { options } = parsed(
      [
        '--port',
        '0',
        '--mch-id',
        'M1',
        '--trade-password-env',
        'TP',
        '--readers',
        '3',
        '--fault',
        'unavailable,times=2',
      ],
      { TP: 'secret' },
    );
    expect(options.port).toBe(0);
    expect(options.merchants).toEqual([
      expect.objectContaining({
        mchId: 'M1',
        tradePassword: 'secret',
        readerCount: 3,
        readerStart: 1,
      }),
    ]);
    expect(options.faults).toEqual([{ kind: 'unavailable', times: 2 }]);
    expect(options.enforceSettlement).toBe(false);
  });

  it('several merchants and faults from a YAML file', () => {
    const file = join(dir, 'sim.yaml');
    writeFileSync(
      file,
      [
        'port: 0',
        'enforceSettlement: true',
        'deviceListFormat: strings',
        'merchants:',
        '  - { mchId: A1, tradePassword: pa, iv: aaaaaaaaaaaaaaaa, readerCount: 2 }',
        '  - { mchId: A2, tradePasswordEnv: PB, readers: [R1, R2] }',
        'faults:',
        '  - { kind: retry, deviceId: R1, times: 1 }',
      ].join('\n'),
    );
    const { options } = parsed(['--config', file, '--fault', 'kind=slow,delay=100'], { PB: 'pb' });
    expect(options.merchants.map((m) => [m.mchId, m.tradePassword])).toEqual([
      ['A1', 'pa'],
      ['A2', 'pb'],
    ]);
    expect(options.faults).toEqual([
      { kind: 'retry', deviceId: 'R1', times: 1 },
      { kind: 'slow', delayMs: 100 },
    ]);
    expect(options.enforceSettlement).toBe(true);
    expect(options.deviceListFormat).toBe('strings');
  });

  it.each([
    [['--trade-password-env', 'MISSING'], /tradePassword/],
    [['--trade-password', 'x', '--fault', 'meteor'], /fault.kind/],
    [['--trade-password', 'x', '--fault', 'retry,bogus=1'], /invalid fault/],
    [['--trade-password', 'x', '--device-list-format', 'xml'], /device-list-format/],
    [['--trade-password', 'x', '--log-level', 'loud'], /log-level/],
    [['--trade-password', 'x', '--readers', '-1'], /--readers/],
    [['--trade-password', 'x', '--clock-rate', '0'], /clock-rate/],
    [['--nope'], /see --help/],
    [['--config', '/nonexistent/sim.yaml'], /cannot read/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(CliError);
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  it('refuses a config file with a bad field and names it', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ merchants: [{ mchId: 'has space', tradePassword: 'x' }], extra: 1 }),
    );
    expect(() => parseCli(['--config', file], {})).toThrow(/config.merchants\[0\].mchId/);
    expect(() => parseCli(['--config', file], {})).toThrow(/config.extra/);
  });
});

describe('intella simulator CLI: main', () => {
  const captured = () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    return lines;
  };

  it('prints --help', async () => {
    const lines = captured();
    await main(['--help']);
    expect(lines.join('')).toBe(HELP);
  });

  it('exits 2 on bad arguments', async () => {
    const lines = captured();
    await main(['--port', 'abc', '--trade-password', 'x']);
    expect(process.exitCode).toBe(2);
    expect(lines.join('')).toContain('--port');
  });

  it('starts, writes the public key, answers, and stops cleanly', async () => {
    const lines = captured();
    const keyFile = join(dir, 'pub.pem');
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const running = main(
      ['--port', '0', '--trade-password', 'x', '--readers', '2', '--public-key-out', keyFile],
      stopped,
    );
    await vi.waitFor(() => expect(lines.join('')).toContain('intella simulator listening'));
    const started = JSON.parse(lines.find((l) => l.includes('listening'))!) as {
      url: string;
      control: string;
    };
    expect(readFileSync(keyFile, 'utf8')).toContain('BEGIN PUBLIC KEY');
    const state = (await (await fetch(`${started.control}/state`)).json()) as {
      readers: unknown[];
    };
    expect(state.readers).toHaveLength(2);
    stop();
    await running;
    expect(lines.join('')).toContain('intella simulator stopped');
    // No IV was given, so the generated one is printed for the operator to configure the service with.
    expect(
      JSON.parse(lines.find((l) => l.includes('listening'))!).merchants[0].generatedIv,
    ).toMatch(/^.{16}$/);
  });

  it('never prints an IV the operator supplied', async () => {
    const lines = captured();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const running = main(
      ['--port', '0', '--trade-password', 'x', '--iv', 'operator-iv-0001'],
      stopped,
    );
    await vi.waitFor(() => expect(lines.join('')).toContain('intella simulator listening'));
    stop();
    await running;
    expect(lines.join('')).not.toContain('operator-iv-0001');
  });
});
