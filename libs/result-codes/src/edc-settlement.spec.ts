import { describe, expect, it } from 'vitest';
import { edcTransition, newEdcCommand, type EdcEvent, type EdcPhase } from './edc-lifecycle';
import {
  edcDeviceVerdict,
  edcSettlementAgreement,
  edcSettlementRefusal,
  type EdcDeviceVerdict,
  type EdcSettlementOutcome,
} from './edc-settlement';

const at = 1_000;

describe('operator settlement', () => {
  it.each([
    ['in_doubt', true],
    ['sent', false],
    ['timed_out', false],
    ['recovering', false],
    ['succeeded', false],
    ['failed', false],
    ['cancelled', false],
  ] as [EdcPhase, boolean][])('a command %s may be settled: %s', (phase, allowed) => {
    expect(edcSettlementRefusal({ phase }) === null).toBe(allowed);
  });

  it.each([
    [{ type: 'onSuccess', resultCode: 'SUCCESS', at }, 'succeeded'],
    [{ type: 'onSuccess', resultCode: 'USER_BALANCE_NOT_ENOUGH', at }, 'failed'],
    [{ type: 'onBusinessFailed', code: 'USER_BALANCE_NOT_ENOUGH', at }, 'failed'],
    [{ type: 'onBusinessFailed', code: 'UNKNOWN', at }, 'says_nothing'],
    [{ type: 'onCommandFailed', code: 'CommandResponseTimeout', at }, 'says_nothing'],
    [{ type: 'onCommandFailed', code: 'CommandDeviceBusy', at }, 'failed'],
    [{ type: 'onCommandFailed', code: 'CommandNotSupport', at }, 'failed'],
    [{ type: 'device_event', code: 'READY', at }, 'says_nothing'],
  ] as [EdcEvent, EdcDeviceVerdict][])('a Purchase result %j says %s', (event, verdict) => {
    expect(edcDeviceVerdict(event, 'Purchase')).toBe(verdict);
  });

  it.each([
    ['SUCCESS', 'succeeded', 'agrees'],
    ['SUCCESS', 'failed', 'conflict'],
    ['SUCCESS', 'says_nothing', 'says_nothing'],
    ['FAILED', 'succeeded', 'conflict'],
    ['FAILED', 'failed', 'agrees'],
    ['FAILED', 'says_nothing', 'says_nothing'],
  ] as [EdcSettlementOutcome, EdcDeviceVerdict, string][])(
    'settled %s, the device says %s: %s',
    (settled, verdict, agreement) => {
      expect(edcSettlementAgreement(settled, verdict)).toBe(agreement);
    },
  );

  it.each([
    ['failed', { type: 'onSuccess', resultCode: 'SUCCESS', at: at + 1 }],
    ['succeeded', { type: 'onBusinessFailed', code: 'USER_BALANCE_NOT_ENOUGH', at: at + 1 }],
  ] as const)(
    'the lifecycle keeps an operator settlement (%s) against a late device result',
    (settledAs, late) => {
      const inDoubt = {
        ...newEdcCommand({ commandName: 'Purchase', now: 0 }),
        phase: 'in_doubt' as const,
      };
      const settled = edcTransition(inDoubt, {
        type: 'operator_resolved',
        verdict: settledAs,
        at,
      }).state;
      const after = edcTransition(settled, late as EdcEvent);
      expect(after.ok).toBe(false);
      expect(after.state).toBe(settled);
    },
  );
});
