import { DSTORE_RESULT_CODES, isDStoreResultCode } from '@tillbus/result-codes';

/**
 * How the simulator answers one verified notifyOrderChange:
 * - `S` accepts it (the effect is applied once per requestId, as D-Store de-duplicates);
 * - `F` / `U` refuse it with PROCESS_FAIL / UNKNOWN_EXCEPTION, or `F:<CODE>` / `U:<CODE>` with any code;
 * - `DROP` closes the connection without an answer (the request was lost, nothing applied).
 */
export type NotifyAnswer = 'S' | 'F' | 'U' | 'DROP' | `F:${string}` | `U:${string}`;

export interface DStoreFaults {
  /** Answers used one per verified notifyOrderChange, in order; when empty, `defaultAnswer`. */
  script: NotifyAnswer[];
  defaultAnswer: NotifyAnswer;
  /** Orders whose next notification is dropped (the lost-notification scenario arms this). */
  dropNextFor: string[];
  /** Wait before reading a notification (the request is late). */
  delayMs: number;
  /** Wait after applying a notification, before answering (a slow answer). */
  slowMs: number;
  /** Apply notifications but keep every answer until release() (a kill can then land mid-flight). */
  hold: boolean;
  /** Extra copies of every call D-Store makes (each signed afresh, as a retry would be). */
  duplicates: number;
  /** Sign answers with a key the POS does not know. */
  badSignature: boolean;
  /** Add fields the project has never seen to every message D-Store sends: its calls and its answers. */
  unseenFields: boolean;
}

export const DEFAULT_FAULTS: DStoreFaults = {
  script: [],
  defaultAnswer: 'S',
  dropNextFor: [],
  delayMs: 0,
  slowMs: 0,
  hold: false,
  duplicates: 0,
  badSignature: false,
  unseenFields: false,
};

/** The faults to start with: the defaults, overridden by `initial` (lists copied), checked. */
export function initialFaults(initial: Partial<DStoreFaults> = {}): DStoreFaults {
  const faults: DStoreFaults = {
    ...DEFAULT_FAULTS,
    ...initial,
    script: [...(initial.script ?? [])],
    dropNextFor: [...(initial.dropNextFor ?? [])],
  };
  checkFaults(faults);
  return faults;
}

/** Changes `faults` in place by `partial`; a bad request throws and leaves them as they were. */
export function updateFaults(faults: DStoreFaults, partial: Partial<DStoreFaults>): DStoreFaults {
  for (const key of Object.keys(partial ?? {}))
    if (!(key in DEFAULT_FAULTS)) throw new Error(`unknown fault ${key}`);
  // Checked as a whole before anything changes, so a bad request leaves the faults as they were.
  const next = { ...faults, ...partial };
  checkFaults(next);
  Object.assign(faults, next, {
    script: [...next.script],
    dropNextFor: [...next.dropNextFor],
  });
  return faults;
}

export function resetFaults(faults: DStoreFaults): void {
  Object.assign(faults, { ...DEFAULT_FAULTS, script: [], dropNextFor: [] });
}

/** The answer planned for the order's next verified notification; uses up a drop or a scripted answer. */
export function takeAnswer(faults: DStoreFaults, requestOrderId: string): NotifyAnswer {
  const dropIndex = faults.dropNextFor.indexOf(requestOrderId);
  if (dropIndex >= 0) {
    faults.dropNextFor.splice(dropIndex, 1);
    return 'DROP';
  }
  return faults.script.shift() ?? faults.defaultAnswer;
}

/** `S`, `F`, `U`, `F:<CODE>`, `U:<CODE>` as a result status and code. */
export function readAnswer(answer: Exclude<NotifyAnswer, 'DROP'>): {
  status: 'S' | 'F' | 'U';
  code: keyof typeof DSTORE_RESULT_CODES;
} {
  if (answer === 'S') return { status: 'S', code: 'SUCCESS' };
  if (answer === 'F') return { status: 'F', code: 'PROCESS_FAIL' };
  if (answer === 'U') return { status: 'U', code: 'UNKNOWN_EXCEPTION' };
  const [status, code] = answer.split(':');
  if ((status !== 'F' && status !== 'U') || !isDStoreResultCode(code))
    throw new Error(`unknown answer ${answer}: use S, F, U, DROP, F:<CODE> or U:<CODE>`);
  return { status, code };
}

/** Throws a readable error for a fault that cannot work. */
export function checkFaults(faults: DStoreFaults): void {
  for (const answer of [...faults.script, faults.defaultAnswer]) {
    if (answer !== 'DROP') readAnswer(answer);
  }
  for (const key of ['delayMs', 'slowMs', 'duplicates'] as const) {
    const value = faults[key];
    if (!Number.isInteger(value) || value < 0 || value > 600_000)
      throw new Error(`${key} must be an integer from 0 to 600000`);
  }
  if (!Array.isArray(faults.dropNextFor) || faults.dropNextFor.some((id) => typeof id !== 'string'))
    throw new Error('dropNextFor must be a list of requestOrderIds');
  for (const key of ['hold', 'badSignature', 'unseenFields'] as const)
    if (typeof faults[key] !== 'boolean') throw new Error(`${key} must be true or false`);
}
