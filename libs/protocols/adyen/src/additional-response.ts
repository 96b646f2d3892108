import { ADYEN_TAMPER_TRIGGERED } from '@tillbus/result-codes';
import { decodeBase64Text, encodeBase64Text, isPlainRecord, parseJsonText } from './base64';
import { AdyenProtocolError } from './errors';

/** `networkProfile`: Base64 text with the terminal's IP address and other network data (layout not documented). */
export interface NetworkProfile {
  readonly text: string;
  /** Set when the decoded text is JSON. */
  readonly json?: unknown;
}

/** Mobile SDK `storeAndForwardStatus` (Base64 JSON). Typed fields are views of `raw`, set when of the documented type. */
export interface StoreAndForwardStatus {
  /** Transactions are accepted offline when connectivity drops. */
  readonly available?: boolean;
  /** The device is offline right now. */
  readonly active?: boolean;
  /** When offline payments stop being possible if the device cannot go online to be attested (UTC, as sent). */
  readonly expiresAt?: string;
  /** Success | Connectivity failure | Other failure (see ADYEN_FORWARD_ATTEMPT_STATUSES). */
  readonly forwardAttemptStatus?: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface ResolvableIssue {
  readonly name?: string;
  readonly message?: string;
}

/** Mobile SDK `attestationStatus` (Base64 JSON). Typed fields are views of `raw`, set when of the documented type. */
export interface AttestationStatus {
  /** Valid | Rejected | Failed | Expired (see ADYEN_ATTESTATION_STATUSES). */
  readonly status?: string;
  readonly selfResolvableIssues?: boolean;
  readonly resolvableIssues?: readonly ResolvableIssue[];
  readonly raw: Readonly<Record<string, unknown>>;
}

/** `Response.AdditionalResponse` of a diagnosis, decoded. No key is dropped: unknown ones land in `extra`. */
export interface AdyenAdditionalResponse {
  /** Percent of full charge (`batteryLevel=100%25` is 100). */
  readonly batteryLevel?: number;
  /** Payments not yet sent to Adyen for completion (terminal) or stored offline and not forwarded (Mobile SDK). */
  readonly unconfirmedBatchCount?: number;
  readonly firmwareVersion?: string;
  readonly networkProfile?: NetworkProfile;
  readonly merchantAccount?: string;
  /** The POIID (terminal) or the installation id (Mobile SDK). */
  readonly terminalId?: string;
  readonly storeId?: string;
  /** UX300/UX410 only; `ARS_TRIGGERED` means stop using the terminal now. */
  readonly tamperStatus?: string;
  /** Every `p2pe*` key (P2PE terminals), as sent. */
  readonly p2pe: Readonly<Record<string, string>>;
  /** Mobile SDK: when the installed SDK version expires. */
  readonly sdkExpiry?: Date;
  readonly storeAndForwardStatus?: StoreAndForwardStatus;
  readonly attestationStatus?: AttestationStatus;
  readonly extra: Readonly<Record<string, string>>;
}

/** What `formatAdditionalResponse` takes: a parsed value fits; Base64 JSON blobs are written from `raw`. */
export interface AdditionalResponseInput {
  readonly batteryLevel?: number;
  readonly unconfirmedBatchCount?: number;
  readonly firmwareVersion?: string;
  readonly networkProfile?: { readonly text: string };
  readonly merchantAccount?: string;
  readonly terminalId?: string;
  readonly storeId?: string;
  readonly tamperStatus?: string;
  readonly p2pe?: Readonly<Record<string, string>>;
  readonly sdkExpiry?: Date;
  readonly storeAndForwardStatus?: { readonly raw: Readonly<Record<string, unknown>> };
  readonly attestationStatus?: { readonly raw: Readonly<Record<string, unknown>> };
  readonly extra?: Readonly<Record<string, string>>;
}

export const P2PE_KEY_PREFIX = 'p2pe';

/** The keys this lib types, in the order `formatAdditionalResponse` writes them. */
export const ADDITIONAL_RESPONSE_KEYS = [
  'batteryLevel',
  'unconfirmedBatchCount',
  'firmwareVersion',
  'networkProfile',
  'merchantAccount',
  'terminalId',
  'storeId',
  'tamperStatus',
  'sdkExpiry',
  'storeAndForwardStatus',
  'attestationStatus',
] as const;

type TypedKey = (typeof ADDITIONAL_RESPONSE_KEYS)[number];
const TYPED_KEYS: ReadonlySet<string> = new Set(ADDITIONAL_RESPONSE_KEYS);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Decodes `key=value&...` as a form (application/x-www-form-urlencoded): percent-escapes are decoded and `+` is a
 * space (`message=Terminal+is+not+reachable`). Base64 values read a space back as the `+` it was.
 * Throws AdyenProtocolError MALFORMED_ADDITIONAL_RESPONSE on a pair without `=`, a bad escape, a repeated key, or a
 * typed value that does not decode. Empty segments (`a=1&&b=2`, a trailing `&`) are skipped.
 */
export function parseAdditionalResponse(raw: string): AdyenAdditionalResponse {
  if (typeof raw !== 'string') throw malformed('AdditionalResponse must be a string');
  const pairs = new Map<string, string>();
  raw.split('&').forEach((segment, index) => {
    if (segment === '') return;
    const equals = segment.indexOf('=');
    if (equals <= 0)
      throw malformed('every pair must be key=value with a non-empty key', { pair: index });
    const key = decodeComponent(segment.slice(0, equals), index);
    const value = decodeComponent(segment.slice(equals + 1), index);
    if (pairs.has(key)) throw malformed('a key appears twice', { key: clip(key) });
    pairs.set(key, value);
  });
  return fromPairs(pairs);
}

function fromPairs(pairs: Map<string, string>): AdyenAdditionalResponse {
  const result: Mutable<Omit<AdyenAdditionalResponse, 'p2pe' | 'extra'>> = {};
  const p2pe: [string, string][] = [];
  const extra: [string, string][] = [];
  for (const [key, value] of pairs) {
    if (TYPED_KEYS.has(key)) assignTyped(result, key as TypedKey, value);
    else if (key.startsWith(P2PE_KEY_PREFIX)) p2pe.push([key, value]);
    else extra.push([key, value]);
  }
  // fromEntries defines own properties, so a key such as `__proto__` is kept as data.
  return { ...result, p2pe: Object.fromEntries(p2pe), extra: Object.fromEntries(extra) };
}

function assignTyped(
  result: Mutable<Omit<AdyenAdditionalResponse, 'p2pe' | 'extra'>>,
  key: TypedKey,
  value: string,
) {
  switch (key) {
    case 'batteryLevel':
      result.batteryLevel = parsePercent(value);
      return;
    case 'unconfirmedBatchCount':
      result.unconfirmedBatchCount = parseCount(value);
      return;
    case 'networkProfile':
      result.networkProfile = parseNetworkProfile(value);
      return;
    case 'sdkExpiry':
      result.sdkExpiry = parseUtcDate(value);
      return;
    case 'storeAndForwardStatus':
      result.storeAndForwardStatus = storeAndForwardView(decodeBase64Json(key, value));
      return;
    case 'attestationStatus':
      result.attestationStatus = attestationView(decodeBase64Json(key, value));
      return;
    case 'firmwareVersion':
    case 'merchantAccount':
    case 'terminalId':
    case 'storeId':
    case 'tamperStatus':
      result[key] = value;
      return;
  }
}

const PERCENT = /^(\d{1,3}(?:\.\d{1,6})?)%?$/;

function parsePercent(value: string): number {
  const match = PERCENT.exec(value);
  if (!match)
    throw malformed('batteryLevel must be a percentage such as 85%', { key: 'batteryLevel' });
  return Number(match[1]);
}

function parseCount(value: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw malformed('unconfirmedBatchCount must be a non-negative integer', {
      key: 'unconfirmedBatchCount',
    });
  }
  return Number(value);
}

function parseNetworkProfile(value: string): NetworkProfile {
  const text = decodeBase64Text(value);
  if (text === undefined)
    throw malformed('networkProfile must be Base64 of UTF-8 text', { key: 'networkProfile' });
  const json = parseJsonText(text);
  return json === undefined ? { text } : { text, json: json.value };
}

const UTC_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** ISO 8601 date or date-time; no zone means UTC, as the seed says the value is in UTC. */
function parseUtcDate(value: string): Date {
  const match = UTC_DATE.exec(value);
  const bad = () => malformed('sdkExpiry must be an ISO 8601 date-time', { key: 'sdkExpiry' });
  if (!match) throw bad();
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  const millis = Number((match[7] ?? '0').padEnd(3, '0').slice(0, 3));
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, millis);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw bad();
  }
  return new Date(check.getTime() - zoneOffsetMs(match[8]));
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
}

function decodeBase64Json(key: string, value: string): Record<string, unknown> {
  const text = decodeBase64Text(value);
  const json = text === undefined ? undefined : parseJsonText(text);
  if (json === undefined || !isPlainRecord(json.value)) {
    throw malformed(`${key} must be Base64 of a JSON object`, { key });
  }
  return json.value;
}

function storeAndForwardView(raw: Record<string, unknown>): StoreAndForwardStatus {
  return {
    ...pick(raw, 'available', 'boolean'),
    ...pick(raw, 'active', 'boolean'),
    ...pick(raw, 'expiresAt', 'string'),
    ...pick(raw, 'forwardAttemptStatus', 'string'),
    raw,
  };
}

function attestationView(raw: Record<string, unknown>): AttestationStatus {
  const issues = Array.isArray(raw.resolvableIssues)
    ? raw.resolvableIssues.flatMap(issueView)
    : undefined;
  return {
    ...pick(raw, 'status', 'string'),
    ...pick(raw, 'selfResolvableIssues', 'boolean'),
    ...(issues === undefined ? {} : { resolvableIssues: issues }),
    raw,
  };
}

// The seed gives the item type as "array, string" and its parts as name and message: accept both shapes.
function issueView(item: unknown): ResolvableIssue[] {
  if (typeof item === 'string') return [{ name: item }];
  if (!isPlainRecord(item)) return [];
  return [{ ...pick(item, 'name', 'string'), ...pick(item, 'message', 'string') }];
}

function pick(
  record: Record<string, unknown>,
  key: string,
  type: 'string' | 'boolean',
): Record<string, unknown> {
  return Object.prototype.hasOwnProperty.call(record, key) && typeof record[key] === type
    ? { [key]: record[key] }
    : {};
}

/** Encodes the inverse of `parseAdditionalResponse`; the simulator answers with it. */
export function formatAdditionalResponse(input: AdditionalResponseInput): string {
  const pairs: [string, string][] = [];
  const put = (key: string, value: string | undefined) => {
    if (value !== undefined) pairs.push([key, value]);
  };
  put(
    'batteryLevel',
    input.batteryLevel === undefined ? undefined : `${formatPercent(input.batteryLevel)}%`,
  );
  put(
    'unconfirmedBatchCount',
    input.unconfirmedBatchCount === undefined
      ? undefined
      : formatCount(input.unconfirmedBatchCount),
  );
  put('firmwareVersion', input.firmwareVersion);
  put('networkProfile', input.networkProfile && encodeBase64Text(input.networkProfile.text));
  put('merchantAccount', input.merchantAccount);
  put('terminalId', input.terminalId);
  put('storeId', input.storeId);
  put('tamperStatus', input.tamperStatus);
  put('sdkExpiry', input.sdkExpiry && formatDate(input.sdkExpiry));
  put(
    'storeAndForwardStatus',
    input.storeAndForwardStatus &&
      encodeBase64Text(JSON.stringify(input.storeAndForwardStatus.raw)),
  );
  put(
    'attestationStatus',
    input.attestationStatus && encodeBase64Text(JSON.stringify(input.attestationStatus.raw)),
  );
  for (const [key, value] of Object.entries(input.p2pe ?? {})) {
    if (!key.startsWith(P2PE_KEY_PREFIX))
      throw invalid(`p2pe keys must start with "${P2PE_KEY_PREFIX}"`);
    put(key, value);
  }
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (key === '' || TYPED_KEYS.has(key) || key.startsWith(P2PE_KEY_PREFIX)) {
      throw invalid('an extra key must be non-empty and neither a typed key nor a p2pe key');
    }
    put(key, value);
  }
  return pairs.map(([key, value]) => `${encodeComponent(key)}=${encodeComponent(value)}`).join('&');
}

function formatPercent(value: number): string {
  const text = String(value);
  if (!PERCENT.test(text))
    throw invalid('batteryLevel must be a plain non-negative number below 1000');
  return text;
}

function formatCount(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid('unconfirmedBatchCount must be a non-negative integer');
  return String(value);
}

function formatDate(value: Date): string {
  const year = value.getUTCFullYear();
  if (Number.isNaN(value.getTime()) || year < 0 || year > 9999)
    throw invalid('sdkExpiry must be a valid date');
  return value.toISOString();
}

function decodeComponent(text: string, pair: number): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw malformed('a percent-escape is not valid UTF-8', { pair });
  }
}

function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw invalid('a key or value is not well-formed Unicode');
  }
}

function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function malformed(message: string, details?: Record<string, unknown>): AdyenProtocolError {
  return new AdyenProtocolError('MALFORMED_ADDITIONAL_RESPONSE', message, details);
}

function invalid(message: string): AdyenProtocolError {
  return new AdyenProtocolError('INVALID_ARGUMENT', message);
}

/** Anti-removal switches triggered: stop using the terminal now. */
export function isTampered(additional: Pick<AdyenAdditionalResponse, 'tamperStatus'>): boolean {
  return additional.tamperStatus === ADYEN_TAMPER_TRIGGERED;
}
