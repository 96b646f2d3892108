import type { EdcCommandView } from '@tillbus/contracts';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../errors';
import { parseCount, parseDuration } from './common';
import { progressLine, viewText } from './edc-text';
import { COMMANDS } from './index';
import { changeFields } from './orders';
import { offlineFacts, vendorFacts } from './terminals';

describe('option parsing', () => {
  it.each([
    ['1500ms', 1500],
    ['1500', 1500],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1.5h', 5_400_000],
    ['3d', 259_200_000],
  ])('duration %s is %i ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  it.each(['', 'soon', '-1s', '1w', '400d'])('refuses duration %j', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(CliError);
  });

  it.each(['0', '1001', '1.5', 'ten', ''])('refuses count %j outside 1..1000', (text) => {
    expect(() => parseCount(text, '--limit', 1, 1000)).toThrow(
      /--limit must be a whole number from 1 to 1000/,
    );
  });
});

describe('EDC output', () => {
  const base = {
    seq: 1,
    at: 1_000_500,
    deviceId: 'd',
    requestId: 'r',
    commandName: 'Purchase',
    phase: 'READY',
  };
  it.each([
    [
      { ...base, type: 'device_event', code: 'READY' },
      /\+0\.5s {2}READY +Device is ready for card insertion\./,
    ],
    [
      { ...base, type: 'phase', phase: 'timed_out', reason: 'deadline' },
      /→ timed_out .*result is unknown \(deadline\)/,
    ],
    [
      { ...base, type: 'recovery', status: 'answered', attempt: 1, verdict: 'succeeded' },
      /recovery +attempt 1: answered, succeeded/,
    ],
    [
      {
        ...base,
        type: 'outcome',
        phase: 'failed',
        outcome: 'FAILED',
        resolution: 'device',
        failure: { type: 'business', code: 'X' },
      },
      /= FAILED +failed \(resolved by device\): business X/,
    ],
  ] as const)('prints %j', (event, line) => {
    expect(progressLine(event as never, 1_000_000)).toMatch(line);
  });

  it('shows a result without its private fields, and amounts for people', () => {
    const view: EdcCommandView = {
      deviceId: 'sim-b0-d0',
      requestId: 'p1',
      commandName: 'Purchase',
      phase: 'succeeded',
      outcome: 'SUCCESS',
      final: true,
      acceptedAt: 0,
      sentAt: 0,
      deadlineAt: null,
      countdownEndsAt: null,
      finishedAt: 1,
      lastDeviceEvent: null,
      notices: {},
      cancel: null,
      unknownCause: null,
      recoveryAttempts: 1,
      failure: null,
      resolution: 'recovery',
      contradicted: null,
      result: {
        paymentAmount: { value: '55000', currency: 'KRW' },
        acquirerInfo: { acquirerApprovalNum: '16000001', acquirerName: 'KICC' },
        paymentResultInfo: { cardBin: '52364979' },
      },
    };
    const text = viewText(view);
    expect(text).toMatch(/amount: +55,000 KRW/);
    expect(text).toMatch(/approval: +16000001/);
    expect(text).toMatch(/resolved by: +recovery/);
    expect(text).toMatch(/recoveries: +1/);
  });
});

// Issue 16 §4: human output left out what --json has.
describe('the facts that decide the case, in human output', () => {
  const base: EdcCommandView = {
    deviceId: 'sim-b1-d4',
    requestId: 'p9',
    commandName: 'Purchase',
    phase: 'in_doubt',
    outcome: 'UNKNOWN',
    final: false,
    acceptedAt: 0,
    sentAt: 0,
    deadlineAt: null,
    countdownEndsAt: null,
    finishedAt: null,
    lastDeviceEvent: null,
    notices: {},
    cancel: null,
    unknownCause: 'deadline',
    recoveryAttempts: 3,
    failure: null,
    resolution: null,
    contradicted: null,
  };

  it('says why a command is in doubt', () => {
    expect(viewText(base)).toMatch(
      /in doubt because: +no answer from the device before the deadline; recovery \(GetLastTransaction, 3 attempts\) could not tell whether it went through/,
    );
  });

  it('says an outcome came from recovery, not from the device', () => {
    const recovered = { ...base, phase: 'succeeded', outcome: 'SUCCESS' as const, final: true };
    expect(viewText({ ...recovered, resolution: 'recovery' })).toMatch(
      /resolved by: +recovery: the device's last transaction \(GetLastTransaction\), not an answer to this command/,
    );
    expect(viewText({ ...recovered, resolution: 'device' })).toMatch(
      /resolved by: +the device's own answer to this command/,
    );
  });

  it('shows a cancelled Purchase as cancelled', () => {
    const cancelled = {
      ...base,
      phase: 'cancelled',
      outcome: 'FAILED' as const,
      final: true,
      unknownCause: null,
      resolution: 'cancel',
    };
    const text = viewText(cancelled);
    expect(text).toMatch(/outcome: +CANCELLED \(outcome FAILED\)/);
    expect(text).not.toMatch(/in doubt because/);
  });

  it('shows the Antom resultCode and what the vendor says to do: call again versus do not retry', () => {
    const details = (code: string, message: string) => ({
      message: 'the terminal or vendor answered with an error',
      error: `${code}: ${message}`,
    });
    const unknown = vendorFacts('antom', details('UNKNOWN_EXCEPTION', 'try later'), {
      result: { resultStatus: 'U', resultCode: 'UNKNOWN_EXCEPTION', resultMessage: 'try later' },
    });
    const processFail = vendorFacts('antom', details('PROCESS_FAIL', 'no'));
    expect(new Map(unknown).get('vendor result')).toBe('UNKNOWN_EXCEPTION (status U)');
    expect(new Map(unknown).get('vendor advice')).toMatch(/Call the API again\.$/);
    expect(new Map(unknown).get('vendor said')).toBe('UNKNOWN_EXCEPTION: try later');
    expect(new Map(processFail).get('vendor result')).toBe('PROCESS_FAIL');
    expect(new Map(processFail).get('vendor advice')).toMatch(/Do not retry\./);
  });

  it('decodes store-and-forward', () => {
    const facts = new Map(
      offlineFacts({
        storeAndForwardUntil: '2026-12-08T10:00:00Z',
        offline: {
          offlineAvailable: true,
          offlineActive: true,
          unforwardedCount: 2,
          forwardAttemptStatus: 'Connectivity failure',
          lastForwardSucceeded: false,
        },
      }),
    );
    expect(facts.get('store-and-forward')).toBe(
      'ACTIVE: card payments are stored on the device and forwarded to Adyen later, until 2026-12-08T10:00:00Z',
    );
    expect(facts.get('unforwarded payments')).toBe(2);
    expect(facts.get('last forward attempt')).toBe('Connectivity failure (NOT forwarded)');
  });
});

describe('the command set', () => {
  it('has every command the issue names', () => {
    const names = COMMANDS.map((c) => `${c.group} ${c.verb}`);
    for (const name of [
      'terminals list',
      'terminals readiness',
      'terminals diagnose',
      'edc purchase',
      'edc cancel',
      'edc last',
      'edc get',
      'edc settle',
      'orders get',
      'orders stuck',
      'orders redeliver',
      'easycard sessions',
      'easycard signon',
      'easycard register',
    ]) {
      expect(names).toContain(name);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('edc settle', () => {
  const settle = COMMANDS.find((c) => c.group === 'edc' && c.verb === 'settle')!;

  it.each([
    [{ reason: 'checked with KICC' }, /--outcome must be one of SUCCESS, FAILED/],
    [{ outcome: 'MAYBE', reason: 'checked with KICC' }, /--outcome must be one of SUCCESS, FAILED/],
    [{ outcome: 'SUCCESS' }, /--reason is required/],
  ])('refuses %j before it sends anything', async (options, message) => {
    const run = settle.run({} as never, { args: { requestId: 'r-1' }, options } as never);
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
  });

  it('sends who settles it, as the CLI knows it, and shows the settlement and any conflict', async () => {
    const sent: unknown[] = [];
    const view = {
      deviceId: 'd',
      requestId: 'r-1',
      commandName: 'Purchase',
      phase: 'succeeded',
      outcome: 'SUCCESS',
      final: true,
      resolution: 'operator',
      recoveryAttempts: 1,
      settlement: {
        outcome: 'SUCCESS',
        reason: 'KICC shows it approved',
        by: { operator: 'alice', natsUser: 'operator' },
        at: Date.UTC(2026, 11, 7, 12),
        deviceLastSaid: {
          lastDeviceEvent: null,
          unknownCause: 'deadline',
          recoveryAttempts: 1,
          recoveryReason: null,
        },
        conflict: {
          at: 0,
          verdict: 'failed',
          callback: 'onBusinessFailed',
          code: 'USER_BALANCE_NOT_ENOUGH',
        },
      },
    };
    const bus = {
      request: async (subject: string, payload: unknown) => {
        sent.push({ subject, payload });
        return view;
      },
    };
    const result = await settle.run(
      { bus, env: { USER: 'alice', NATS_USER: 'operator' } } as never,
      {
        args: { requestId: 'r-1' },
        options: {
          outcome: 'success',
          reason: 'KICC shows it approved',
          device: 'd',
          approval: 'A1',
        },
      } as never,
    );
    expect(sent).toEqual([
      {
        subject: 'tillbus.edc.command.settle',
        payload: {
          deviceId: 'd',
          requestId: 'r-1',
          outcome: 'SUCCESS',
          reason: 'KICC shows it approved',
          approval: 'A1',
          operator: 'alice',
          natsUser: 'operator',
        },
      },
    ]);
    expect(result.text).toMatch(
      /settled by: +alice \(NATS operator\) at 2026-12-07T12:00:00.000Z: KICC shows it approved/,
    );
    expect(result.text).toMatch(
      /settlement conflict: +the device said failed \(USER_BALANCE_NOT_ENOUGH\) afterwards/,
    );
  });
});

describe('orders pos-event', () => {
  const posEvent = COMMANDS.find((c) => c.group === 'orders' && c.verb === 'pos-event')!;

  it.each(['shipped', 'created', 'constructor', 'toString'])(
    'refuses %j as a kind before it publishes anything',
    async (kind) => {
      const run = posEvent.run(
        {} as never,
        { args: { requestOrderId: 'o-1', kind }, options: {} } as never,
      );
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(/<kind> must be one of accepted, preparing, ready/);
    },
  );

  it('builds each change event’s body from its option, and refuses a change without its value', () => {
    expect(
      changeFields('short-order-number', { 'short-order-number': 'A17', 'requested-by': 't' }),
    ).toEqual({
      shortOrderNumber: 'A17',
      requestedBy: 't',
    });
    expect(changeFields('ready-time', { 'ready-time': '2026-12-07T12:45:00+08:00' })).toMatchObject(
      {
        readyTime: '2026-12-07T12:45:00+08:00',
        requestedBy: expect.stringMatching(/^cli:/),
      },
    );
    expect(
      changeFields('refund', {
        amount: '450',
        currency: 'sgd',
        reason: 'cold',
        'requested-by': 'op',
      }),
    ).toEqual({ refundAmount: { value: 450, currency: 'SGD' }, requestedBy: 'op', reason: 'cold' });
    expect(changeFields('delivery-status', { 'delivery-status': 'DELIVERING' })).toMatchObject({
      deliveryStatus: 'DELIVERING',
    });
    expect(() => changeFields('refund', { currency: 'SGD' })).toThrow(/refund needs --amount/);
    expect(() => changeFields('refund', { amount: '4.50', currency: 'SGD' })).toThrow(UsageError);
    expect(() => changeFields('ready-time', {})).toThrow(/ready-time needs --ready-time/);
  });
});
