import type { EdcCommandView } from '@tillbus/messaging/contract';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../errors';
import { parseCount, parseDuration } from './common';
import { progressLine, viewText } from './edc';
import { COMMANDS } from './index';

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
      'orders get',
      'orders stuck',
      'orders redeliver',
      'easycard sessions',
      'easycard signon',
    ]) {
      expect(names).toContain(name);
    }
    expect(new Set(names).size).toBe(names.length);
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
});
