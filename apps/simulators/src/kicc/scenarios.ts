import {
  KICC_BUSINESS_FAILURE_CODES,
  KICC_COMMAND_FAILURE_CODES,
  KICC_TIMING,
  type KiccBusinessFailureCode,
  type KiccCommandFailureCode,
  type KiccNoticeEventCode,
} from '@tillbus/result-codes';

/** How a Purchase or PurchaseCancel ends on a simulated device. */
export type SimOutcome =
  | { callback: 'onSuccess' }
  | { callback: 'onBusinessFailed'; code: string }
  | {
      callback: 'onCommandFailed';
      code: string;
      /** The payment went through although the SDK reports a failure (a lost or garbled answer). */
      charged?: boolean;
    };

/** One scripted command: its outcome and the notice events the customer causes on the way. */
export interface ScriptedCommand {
  outcome: SimOutcome;
  notices?: KiccNoticeEventCode[];
}

/**
 * Command failures that end a command before the device does anything: the SDK refuses it at once. The others
 * (CommandResponseTimeout, CommandInvalidResponse) come after the payment ran, and the simulator charges the card
 * for them, because "no answer" is exactly the case recovery exists for.
 */
const IMMEDIATE_COMMAND_FAILURES: readonly string[] = [
  'CommandNotSupport',
  'CommandDeviceBusy',
  'CommandParamError',
  'CommandInvalid',
];

export function failsImmediately(outcome: SimOutcome): boolean {
  return (
    outcome.callback === 'onCommandFailed' && IMMEDIATE_COMMAND_FAILURES.includes(outcome.code)
  );
}

/**
 * Every failure code of the seed, reachable by amount: business failure number i (in the seed's order) at
 * `900 + i` KRW, command failure number i at `950 + i` KRW. Any other amount succeeds.
 */
export const BUSINESS_FAILURE_BASE_AMOUNT = 900;
export const COMMAND_FAILURE_BASE_AMOUNT = 950;

export const FAILURE_AMOUNTS: Readonly<Record<string, SimOutcome>> = Object.freeze({
  ...Object.fromEntries(
    KICC_BUSINESS_FAILURE_CODES.map((code: KiccBusinessFailureCode, index) => [
      String(BUSINESS_FAILURE_BASE_AMOUNT + index),
      { callback: 'onBusinessFailed', code } satisfies SimOutcome,
    ]),
  ),
  ...Object.fromEntries(
    KICC_COMMAND_FAILURE_CODES.map((code: KiccCommandFailureCode, index) => [
      String(COMMAND_FAILURE_BASE_AMOUNT + index),
      {
        callback: 'onCommandFailed',
        code,
        charged: !IMMEDIATE_COMMAND_FAILURES.includes(code),
      } satisfies SimOutcome,
    ]),
  ),
});

export function amountFor(code: string): string {
  const entry = Object.entries(FAILURE_AMOUNTS).find(
    ([, outcome]) => outcome.callback !== 'onSuccess' && outcome.code === code,
  );
  if (!entry) throw new Error(`no amount produces ${code}`);
  return entry[0];
}

export function outcomeForAmount(value: unknown): SimOutcome {
  return (typeof value === 'string' && FAILURE_AMOUNTS[value]) || { callback: 'onSuccess' };
}

/** The seed's signature rule: above 50,000 KRW the device asks for a signature. */
export function needsSignature(
  amount: { value?: unknown; currency?: unknown } | undefined,
): boolean {
  return (
    amount?.currency === 'KRW' &&
    typeof amount.value === 'string' &&
    /^\d{1,15}$/.test(amount.value) &&
    Number(amount.value) > KICC_TIMING.signatureThresholdKrw
  );
}

/** Milliseconds before each step of a command on the device. */
export interface SimTiming {
  ready: number;
  cardDetected: number;
  cardRead: number;
  signature: number;
  startTransaction: number;
  result: number;
  /** GetLastTransaction and CommandCancel answers. */
  query: number;
}

export const TIMING_PROFILES: Readonly<Record<'realistic' | 'fast' | 'instant', SimTiming>> = {
  // a customer who inserts the card after 2.5 s and signs in 4 s; the acquirer answers in 1.5 s
  realistic: {
    ready: 300,
    cardDetected: 2_500,
    cardRead: 800,
    signature: 4_000,
    startTransaction: 500,
    result: 1_500,
    query: 300,
  },
  // the same order of events, for tests
  fast: {
    ready: 5,
    cardDetected: 5,
    cardRead: 5,
    signature: 5,
    startTransaction: 5,
    result: 5,
    query: 5,
  },
  // no waiting at all: for the benchmark
  instant: {
    ready: 0,
    cardDetected: 0,
    cardRead: 0,
    signature: 0,
    startTransaction: 0,
    result: 0,
    query: 0,
  },
};

export function resolveTiming(
  timing: keyof typeof TIMING_PROFILES | Partial<SimTiming> | undefined,
): SimTiming {
  if (timing === undefined) return TIMING_PROFILES.realistic;
  if (typeof timing === 'string') return TIMING_PROFILES[timing];
  return { ...TIMING_PROFILES.realistic, ...timing };
}
