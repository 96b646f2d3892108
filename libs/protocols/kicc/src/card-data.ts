import { KiccProtocolError } from './errors';

/**
 * What may cross the bridge and reach events: of the card, only the BIN (`paymentResultInfo.cardBin`, "first
 * eight digits of the card" in the seed). `acquirerMetaData` is needed for a PurchaseCancel, so it travels on the
 * result message to edc-command only, which keeps it in its private record and never logs or publishes it.
 */

/** Result fields that edc-command keeps private: never logged, never in an event. */
export const PRIVATE_RESULT_FIELDS = ['acquirerMetaData', 'signData', 'paymentMethodId'] as const;
export type PrivateResultField = (typeof PRIVATE_RESULT_FIELDS)[number];

/** Names of card data no KICC message defines; a key like these anywhere means a bridge is leaking. */
const CARD_DATA_KEYS = new Set([
  'pan',
  'cardnumber',
  'cardno',
  'primaryaccountnumber',
  'track1',
  'track2',
  'track3',
  'trackdata',
  'track1data',
  'track2data',
  'track3data',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'pinblock',
  'expiry',
  'expirydate',
  'expdate',
  'cardexpiry',
]);

const CARD_BIN = /^(\d{6,8})?$/;
/** Track 1 (`%B<PAN>^`) and track 2 (`;<PAN>=` or `<PAN>=<YYMM>`) data. */
const TRACK_DATA = /%B\d{12,19}\^|;\d{12,19}=|\d{12,19}=\d{4}/;
/** A track as far as the next whitespace: expiry and discretionary data go with the PAN. */
const TRACK_DATA_TOKEN = /%B\d{12,19}\^\S*|;?\d{12,19}=\S*/g;
/** A run of 13 to 19 digits, possibly grouped by spaces or dashes: the length of a PAN. */
const PAN_LIKE = /\d(?:[ -]?\d){12,18}/;
const PAN_LIKE_GLOBAL = new RegExp(PAN_LIKE.source, 'g');

/** Text that the vendor writes freely and that could therefore quote a card number. */
const FREE_TEXT_FIELDS = new Set([
  'notice',
  'resultMessage',
  'acquirerResultMessage',
  'AD1',
  'AD2',
  'message',
]);

export const MAX_JSON_DEPTH = 32;

/**
 * `event`: text that may be republished: no private field and nothing PAN-length at all.
 * `envelope`: ids and statuses, which may be long digit strings: no private field, no card-data field.
 * `result`: a command's params or responseData, on its way to or from edc-command only: private fields allowed.
 */
export type CardDataMode = 'event' | 'envelope' | 'result';

const normalizeKey = (key: string) => key.toLowerCase().replace(/[_-]/g, '');
const PRIVATE_NORMALIZED = new Set<string>(PRIVATE_RESULT_FIELDS.map(normalizeKey));

/** Paths (never values) of what may not cross in a JSON value, by the rules of `mode`. */
export function findCardData(value: unknown, mode: CardDataMode, root = ''): string[] {
  const found: string[] = [];
  walk(value, root, (path, key, leaf, tooDeep) => {
    // what cannot be inspected cannot be let through
    if (tooDeep) return found.push(path);
    const normalized = normalizeKey(key);
    if (CARD_DATA_KEYS.has(normalized)) return found.push(path);
    if (mode !== 'result' && PRIVATE_NORMALIZED.has(normalized)) {
      return found.push(path);
    }
    if (key === 'cardBin' && !(typeof leaf === 'string' && CARD_BIN.test(leaf)))
      return found.push(path);
    if (typeof leaf === 'string') {
      if (TRACK_DATA.test(leaf) || (mode === 'event' && PAN_LIKE.test(leaf))) found.push(path);
    }
    return undefined;
  });
  return found;
}

export function assertNoCardData(value: unknown, mode: CardDataMode, root = ''): void {
  const paths = findCardData(value, mode, root);
  if (paths.length > 0) throw new KiccProtocolError('CARD_DATA_REFUSED', undefined, { paths });
}

type RedactedKey = PrivateResultField;

/** The type of a result once `redactKiccResult` has removed the private fields. */
export type RedactedKiccResult<T> = T extends readonly (infer U)[]
  ? RedactedKiccResult<U>[]
  : T extends object
    ? { [K in keyof T as K extends RedactedKey ? never : K]: RedactedKiccResult<T[K]> }
    : T;

/**
 * A copy of a command result fit for events and logs: without acquirerMetaData, signData and paymentMethodId
 * (a wallet barcode), with cardBin only when it is a BIN, without any field named like card data, and with
 * card-number-length digit runs and track data masked in free text.
 */
export function redactKiccResult<T>(result: T): RedactedKiccResult<T> {
  return redact(result, '', 0) as RedactedKiccResult<T>;
}

const MASK = '[redacted]';
const PRIVATE = new Set<string>(PRIVATE_RESULT_FIELDS);

function redact(value: unknown, key: string, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) return undefined;
  if (Array.isArray(value)) return value.map((item) => redact(item, key, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [childKey, child] of Object.entries(value)) {
      if (PRIVATE.has(childKey) || CARD_DATA_KEYS.has(normalizeKey(childKey))) continue;
      if (childKey === 'cardBin' && !(typeof child === 'string' && CARD_BIN.test(child))) continue;
      const copy = redact(child, childKey, depth + 1);
      if (copy !== undefined) out[childKey] = copy;
    }
    return out;
  }
  if (typeof value === 'string') {
    const masked = value.replace(TRACK_DATA_TOKEN, MASK);
    return FREE_TEXT_FIELDS.has(key) ? masked.replace(PAN_LIKE_GLOBAL, MASK) : masked;
  }
  return value;
}

/** Visits every property of a JSON value without recursion, so no input can overflow the stack. */
function walk(
  root: unknown,
  rootPath: string,
  visit: (path: string, key: string, value: unknown, tooDeep: boolean) => void,
): void {
  const stack: { path: string; key: string; value: unknown; depth: number }[] = [
    { path: rootPath, key: '', value: root, depth: 0 },
  ];
  while (stack.length > 0) {
    const { path, key, value, depth } = stack.pop()!;
    const isContainer = value !== null && typeof value === 'object';
    const tooDeep = isContainer && depth >= MAX_JSON_DEPTH;
    if (path !== rootPath || tooDeep) visit(path || '(root)', key, value, tooDeep);
    if (!isContainer || tooDeep) continue;
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value);
    for (const [childKey, child] of entries) {
      const childPath = Array.isArray(value)
        ? `${path}[${childKey}]`
        : path
          ? `${path}.${childKey}`
          : childKey;
      stack.push({
        path: childPath,
        key: Array.isArray(value) ? key : childKey,
        value: child,
        depth: depth + 1,
      });
    }
  }
}

/**
 * Refuses what the validator must never see: nesting deeper than MAX_JSON_DEPTH (class-transformer recurses) and
 * keys that would reach an object's prototype.
 */
export function assertPlainJson(value: unknown): void {
  let problem: string | null = null;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0 && problem === null) {
    const current = stack.pop()!;
    if (current.value === null || typeof current.value !== 'object') continue;
    if (current.depth >= MAX_JSON_DEPTH) problem = `nested deeper than ${MAX_JSON_DEPTH}`;
    for (const key of Object.keys(current.value)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype')
        problem = `key "${key}" is not allowed`;
      stack.push({
        value: (current.value as Record<string, unknown>)[key],
        depth: current.depth + 1,
      });
    }
  }
  if (problem !== null) throw new KiccProtocolError('INVALID_MESSAGE', problem);
}
