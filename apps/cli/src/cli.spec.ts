import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { busOptionsFromEnv, helpText, parseCommandLine, runCli, type CommandSpec } from './cli';
import { CliError, EXIT } from './errors';

const ran: unknown[] = [];
const COMMANDS: CommandSpec[] = [
  {
    group: 'terminals',
    verb: 'list',
    args: [],
    options: {
      vendor: { type: 'string', description: 'antom or adyen' },
      store: { type: 'string', description: 'store id' },
    },
    summary: 'list terminals',
    run: async (_ctx, input) => {
      ran.push(input);
      return { data: [{ id: 't1' }], text: 'TERMINAL\nt1' };
    },
  },
  {
    group: 'edc',
    verb: 'purchase',
    args: ['deviceId', 'amount'],
    options: { installments: { type: 'string', description: 'months' } },
    summary: 'charge a card',
    run: async (ctx, input) => {
      ctx.progress('READY');
      return {
        data: { input },
        text: 'declined',
        failure: { code: 'CARD_DECLINED', message: 'the card was declined' },
      };
    },
  },
  {
    group: 'orders',
    verb: 'get',
    args: ['requestOrderId', 'extra?'],
    summary: 'one order',
    run: async () => {
      throw new CliError('NOT_FOUND', 'no order x', EXIT.failed, 'check the id');
    },
  },
];

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      env: { NATS_URL: 'nats://127.0.0.1:1' },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('parseCommandLine', () => {
  it('takes global options before, between and after the command words', () => {
    const parsed = parseCommandLine(
      ['--json', 'terminals', '--timeout', '900', 'list', '--vendor', 'antom'],
      COMMANDS,
    );
    expect(parsed.command?.verb).toBe('list');
    expect(parsed.globals).toMatchObject({ json: true, timeoutMs: 900 });
    expect(parsed.input.options).toEqual({ vendor: 'antom', store: undefined });
  });

  it('names positionals, optional ones included', () => {
    expect(parseCommandLine(['orders', 'get', 'o-1'], COMMANDS).input.args).toEqual({
      requestOrderId: 'o-1',
    });
    expect(parseCommandLine(['orders', 'get', 'o-1', 'x'], COMMANDS).input.args).toEqual({
      requestOrderId: 'o-1',
      extra: 'x',
    });
  });

  it.each([
    [['nope'], /unknown command "nope"/],
    [['terminals', 'lsit'], /unknown command "terminals lsit"/],
    [['edc', 'purchase', 'dev-1'], /missing <amount>/],
    [['edc', 'purchase', 'a', '1', 'c'], /unexpected argument "c"/],
    [['terminals', 'list', '--colour'], /Unknown option '--colour'/],
    [['terminals', 'list', '--timeout', '10'], /--timeout must be/],
    [['terminals', 'list', '--timeout', 'soon'], /--timeout must be/],
  ])('refuses %j with a usage error', (argv, message) => {
    const error = (() => {
      try {
        parseCommandLine(argv, COMMANDS);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.usage);
    expect((error as CliError).message).toMatch(message);
  });

  it('never throws anything but a usage error, whatever the argv', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(
              'terminals',
              'list',
              'edc',
              'purchase',
              '--json',
              '--vendor',
              '-h',
              '--',
            ),
            fc.string(),
          ),
          { maxLength: 8 },
        ),
        (argv) => {
          try {
            parseCommandLine(argv, COMMANDS);
          } catch (error) {
            expect(error).toBeInstanceOf(CliError);
            expect((error as CliError).code).toBe('USAGE');
          }
        },
      ),
    );
  });
});

describe('runCli', () => {
  it('prints the table for people and JSON for scripts', async () => {
    const human = io();
    expect(await runCli(['terminals', 'list'], COMMANDS, human.io)).toBe(0);
    expect(human.out()).toBe('TERMINAL\nt1\n');
    const script = io();
    expect(await runCli(['terminals', 'list', '--json'], COMMANDS, script.io)).toBe(0);
    expect(JSON.parse(script.out())).toEqual([{ id: 't1' }]);
  });

  it('exits 1 with the code shown when the outcome is a failure, progress only for people', async () => {
    const human = io();
    expect(await runCli(['edc', 'purchase', 'd1', '15000'], COMMANDS, human.io)).toBe(1);
    expect(human.out()).toBe('READY\ndeclined\n');
    expect(human.err()).toBe('error [CARD_DECLINED]: the card was declined\n');
    const script = io();
    expect(await runCli(['--json', 'edc', 'purchase', 'd1', '15000'], COMMANDS, script.io)).toBe(1);
    expect(JSON.parse(script.out())).toEqual({
      input: { args: { deviceId: 'd1', amount: '15000' }, options: { installments: undefined } },
    });
  });

  it('shows a service error with its code and a hint, as JSON too', async () => {
    const human = io();
    expect(await runCli(['orders', 'get', 'x'], COMMANDS, human.io)).toBe(1);
    expect(human.err()).toBe('error [NOT_FOUND]: no order x\nhint: check the id\n');
    const script = io();
    await runCli(['orders', 'get', 'x', '--json'], COMMANDS, script.io);
    expect(JSON.parse(script.out())).toEqual({
      error: { code: 'NOT_FOUND', message: 'no order x' },
    });
  });

  it('exits 2 on bad usage, with the usage line', async () => {
    const human = io();
    expect(await runCli(['edc', 'purchase'], COMMANDS, human.io)).toBe(2);
    expect(human.err()).toContain('error [USAGE]: missing <deviceId> <amount>');
    expect(human.err()).toContain(
      'hint: usage: tillbus edc purchase <deviceId> <amount> [--installments <installments>]',
    );
  });

  it('prints help for everything, a group, and one command', async () => {
    const all = io();
    expect(await runCli([], COMMANDS, all.io)).toBe(0);
    expect(all.out()).toContain('terminals list');
    expect(all.out()).toContain('exit codes: 0 ok');
    const group = io();
    await runCli(['edc', '--help'], COMMANDS, group.io);
    expect(group.out()).toContain('edc purchase');
    expect(group.out()).not.toContain('terminals list');
    const one = io();
    await runCli(['edc', 'purchase', '-h'], COMMANDS, one.io);
    expect(one.out()).toMatch(/^usage: tillbus edc purchase <deviceId> <amount>/);
    expect(helpText(COMMANDS)).toContain('--json');
  });
});

describe('busOptionsFromEnv', () => {
  const globals = { timeoutMs: 5000 };
  it('replies on _INBOX_<user>, the prefix auth.conf reserves for that user, unless NATS_INBOX_PREFIX says otherwise', () => {
    expect(busOptionsFromEnv({ NATS_USER: 'operator' }, globals).inboxPrefix).toBe(
      '_INBOX_operator',
    );
    expect(
      busOptionsFromEnv({ NATS_USER: 'operator', NATS_INBOX_PREFIX: '_INBOX_ops-2' }, globals)
        .inboxPrefix,
    ).toBe('_INBOX_ops-2');
    expect(busOptionsFromEnv({}, globals).inboxPrefix).toBeUndefined();
    expect(() => busOptionsFromEnv({ NATS_INBOX_PREFIX: '_INBOX.>' }, globals)).toThrow(
      /NATS_INBOX_PREFIX \(or NATS_USER\) gives the reply prefix "_INBOX\.>"/,
    );
  });

  it('verifies the server with NATS_TLS_CA_FILE, or the local stack’s CA when there is one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-ca-'));
    try {
      expect(busOptionsFromEnv({ NATS_TLS_CA_FILE: '/ca.pem' }, globals).tls).toEqual({
        caFile: '/ca.pem',
      });
      expect(busOptionsFromEnv({ STACK_STATE_DIR: dir }, globals).tls).toBeUndefined();
      mkdirSync(join(dir, 'tls'));
      writeFileSync(join(dir, 'tls', 'ca.crt'), 'pem');
      expect(busOptionsFromEnv({ STACK_STATE_DIR: dir }, globals).tls).toEqual({
        caFile: join(dir, 'tls', 'ca.crt'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
