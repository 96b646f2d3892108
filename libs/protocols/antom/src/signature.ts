import { constants, createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { AntomDiagnosisCode, DStoreResultCode } from '@tillbus/result-codes';
import { AntomProtocolError } from './errors';
import { loadPrivateKey, loadPublicKey, signatureLengthOf, type AntomKeyInput } from './keys';
import { ANTOM_CONTENT_TYPE, ANTOM_METHOD } from './paths';
import type { ReplayGuard } from './replay-guard';
import {
  ANTOM_SIGNATURE_ALGORITHM,
  decodeSignature,
  formatSignatureHeader,
  parseSignatureHeader,
  type AntomSignatureHeader,
} from './signature-header';
import { formatRequestTime, parseRequestTime, type FormatTimeOptions } from './time';

/** Antom documents no window; five minutes is the usual choice and every verifier can change it. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

export const DEFAULT_KEY_VERSION = '1';

/** Why a signed message was refused: one reason per case a verifier can actually tell apart. */
export const ANTOM_SIGNATURE_FAILURES = {
  MISSING_CLIENT_ID: 'the Client-Id header is missing',
  MISSING_REQUEST_TIME: 'the Request-Time header is missing',
  MISSING_RESPONSE_TIME: 'the Response-Time header is missing',
  MISSING_SIGNATURE: 'the Signature header is missing',
  DUPLICATE_HEADER: 'a signing header appears more than once',
  MALFORMED_SIGNATURE_HEADER: 'the Signature header is not algorithm=..,keyVersion=..,signature=..',
  UNSUPPORTED_ALGORITHM: 'the Signature header names an algorithm other than RSA256',
  MALFORMED_SIGNATURE: 'the signature is not URL-encoded standard Base64',
  SIGNATURE_WRONG_LENGTH: 'the signature is not as long as the key modulus (truncated or padded)',
  BAD_TIME_FORMAT: 'the time header is neither ISO-8601 with an offset nor epoch milliseconds',
  TIME_OUTSIDE_WINDOW: 'the time header is outside the accepted clock-skew window',
  CLIENT_ID_MISMATCH: 'the Client-Id is not the expected one',
  REPLAY: 'this signature was already accepted once',
  // RSA only says "not signed by this key over these bytes": body, path, method, time, Client-Id or key.
  SIGNATURE_MISMATCH:
    'the signature does not verify over the received message with the configured public key',
} as const;

export type AntomSignatureFailure = keyof typeof ANTOM_SIGNATURE_FAILURES;

/**
 * The code the POS answers D-Store with when a D-Store request fails verification. Only the Client-Id decides
 * ACCESS_DENIED; anything else wrong with the signing headers (time missing, unreadable or repeated included)
 * leaves the signature unverifiable, which D-Store's table calls INVALID_SIGNATURE. PARAM_ILLEGAL stays for the body.
 */
export const DSTORE_CODE_FOR_SIGNATURE_FAILURE: Record<AntomSignatureFailure, DStoreResultCode> = {
  MISSING_CLIENT_ID: 'ACCESS_DENIED',
  CLIENT_ID_MISMATCH: 'ACCESS_DENIED',
  MISSING_REQUEST_TIME: 'INVALID_SIGNATURE',
  MISSING_RESPONSE_TIME: 'INVALID_SIGNATURE',
  BAD_TIME_FORMAT: 'INVALID_SIGNATURE',
  DUPLICATE_HEADER: 'INVALID_SIGNATURE',
  MISSING_SIGNATURE: 'INVALID_SIGNATURE',
  MALFORMED_SIGNATURE_HEADER: 'INVALID_SIGNATURE',
  UNSUPPORTED_ALGORITHM: 'INVALID_SIGNATURE',
  MALFORMED_SIGNATURE: 'INVALID_SIGNATURE',
  SIGNATURE_WRONG_LENGTH: 'INVALID_SIGNATURE',
  TIME_OUTSIDE_WINDOW: 'INVALID_SIGNATURE',
  REPLAY: 'INVALID_SIGNATURE',
  SIGNATURE_MISMATCH: 'INVALID_SIGNATURE',
};

/** The code a terminal (or its simulator) answers when a diagnosis request fails verification. */
export const DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE: Record<
  AntomSignatureFailure,
  AntomDiagnosisCode
> = {
  ...mapAll(ANTOM_SIGNATURE_FAILURES, 'INVALID_SIGNATURE'),
  MISSING_CLIENT_ID: 'CLIENT_INVALID',
  CLIENT_ID_MISMATCH: 'CLIENT_INVALID',
};

/** Node's IncomingHttpHeaders, a plain record, or a fetch `Headers`. Names are matched case-insensitively. */
export type AntomHeaderSource =
  | Readonly<Record<string, string | readonly string[] | number | undefined>>
  | { get(name: string): string | null };

export type RawBody = string | Uint8Array;

/** `<METHOD> <path>\n<Client-Id>.<time>.<raw body>` as bytes, so a body is signed exactly as it travels. */
export function buildSigningContent(
  method: string,
  path: string,
  clientId: string,
  time: string,
  rawBody: RawBody,
): Buffer {
  const head = Buffer.from(`${method.toUpperCase()} ${path}\n${clientId}.${time}.`, 'utf8');
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  return Buffer.concat([head, body]);
}

interface SignInput {
  /** Defaults to POST, the only method Antom uses. */
  method?: string;
  /** Includes the query string when there is one. */
  path: string;
  clientId: string;
  /** The exact bytes that will be sent. */
  body: RawBody;
  privateKey: AntomKeyInput;
  keyVersion?: string | number;
  /** Used when the time is given as epoch millis or omitted (then the current clock is read). */
  timeFormat?: FormatTimeOptions;
}

export interface SignRequestInput extends SignInput {
  /** Epoch millis, or a ready header value sent verbatim. */
  requestTime?: number | string;
}

export interface SignResponseInput extends SignInput {
  responseTime?: number | string;
}

/** A type alias, not an interface, so it passes as `Record<string, string>` and fetch `HeadersInit`. */
export type AntomRequestHeaders = {
  'Content-Type': string;
  'Client-Id': string;
  'Request-Time': string;
  Signature: string;
};

export type AntomResponseHeaders = {
  'content-type': string;
  'client-id': string;
  'response-time': string;
  signature: string;
};

export function signRequest(input: SignRequestInput): AntomRequestHeaders {
  const { time, signature } = signMessage(input, input.requestTime);
  return {
    'Content-Type': ANTOM_CONTENT_TYPE,
    'Client-Id': input.clientId,
    'Request-Time': time,
    Signature: signature,
  };
}

export function signResponse(input: SignResponseInput): AntomResponseHeaders {
  const { time, signature } = signMessage(input, input.responseTime);
  return {
    'content-type': ANTOM_CONTENT_TYPE,
    'client-id': input.clientId,
    'response-time': time,
    signature,
  };
}

interface VerifyInput {
  method?: string;
  path: string;
  headers: AntomHeaderSource;
  rawBody: RawBody;
  publicKey: AntomKeyInput;
  /** Epoch millis of the verifier's clock. */
  now: number;
  maxSkewMs?: number;
  /** Consulted only after the signature verifies, so forged messages cannot fill it. */
  replayGuard?: ReplayGuard;
}

export interface VerifyRequestInput extends VerifyInput {
  /** When set, a request from any other Client-Id is refused before the RSA check. */
  expectedClientId?: string;
}

export interface VerifyResponseInput extends VerifyInput {
  /** The Client-Id the request was sent with; the response's `client-id` header, when present, must match it. */
  clientId: string;
}

export interface AntomVerificationFailure {
  ok: false;
  reason: AntomSignatureFailure;
  /** Names the header concerned; never contains the signature or any key. */
  message: string;
}

export type RequestVerification =
  | { ok: true; clientId: string; requestTime: number; rawRequestTime: string; keyVersion?: string }
  | AntomVerificationFailure;

export type ResponseVerification =
  | {
      ok: true;
      clientId: string;
      responseTime: number;
      rawResponseTime: string;
      keyVersion?: string;
      /** The signed Response-Time minus the verifier's clock (positive: the signer's clock is ahead). */
      skewMs: number;
      /** |skewMs| > maxSkewMs: the answer is still valid (the SDKs never check it), its clock is off. */
      outsideWindow: boolean;
    }
  | AntomVerificationFailure;

interface Verified {
  ok: true;
  clientId: string;
  time: number;
  rawTime: string;
  keyVersion?: string;
}

/**
 * Checks a signed request. Never throws for anything in the message; throws AntomProtocolError only for the
 * caller's own inputs (INVALID_KEY, INVALID_ARGUMENT) and passes on whatever the replay guard throws.
 */
export async function verifyRequest(input: VerifyRequestInput): Promise<RequestVerification> {
  const settings = verifierSettings(input);
  const clientId = headerValue(input.headers, 'Client-Id');
  if (clientId === DUPLICATE) return failure('DUPLICATE_HEADER', 'Client-Id');
  if (clientId === undefined) return failure('MISSING_CLIENT_ID');
  if (input.expectedClientId !== undefined && clientId !== input.expectedClientId)
    return failure('CLIENT_ID_MISMATCH');
  const result = await verifyMessage(
    input,
    settings,
    clientId,
    'Request-Time',
    'MISSING_REQUEST_TIME',
  );
  if (!result.ok) return result;
  const { time, rawTime, ...rest } = result;
  return { ...rest, requestTime: time, rawRequestTime: rawTime };
}

/**
 * Checks a signed response to a request we sent with `clientId`. Its time is never a reason to refuse it: the official
 * SDKs (alipay/global-open-sdk-java BaseAlipayClient.execute, alipay/global-open-sdk-python
 * DefaultAlipayClient.execute) verify a response's signature over its `response-time` and never compare that time
 * with their clock, so a correctly signed answer from a terminal whose clock is off is a valid answer. The skew is
 * returned for the caller to report.
 */
export async function verifyResponse(input: VerifyResponseInput): Promise<ResponseVerification> {
  const settings = verifierSettings(input);
  const echoed = headerValue(input.headers, 'Client-Id');
  if (echoed === DUPLICATE) return failure('DUPLICATE_HEADER', 'Client-Id');
  if (echoed !== undefined && echoed !== input.clientId) return failure('CLIENT_ID_MISMATCH');
  const result = await verifyMessage(
    input,
    settings,
    input.clientId,
    'Response-Time',
    'MISSING_RESPONSE_TIME',
    'report',
  );
  if (!result.ok) return result;
  const { time, rawTime, ...rest } = result;
  const skewMs = time - input.now;
  return {
    ...rest,
    responseTime: time,
    rawResponseTime: rawTime,
    skewMs,
    outsideWindow: Math.abs(skewMs) > settings.maxSkewMs,
  };
}

interface VerifierSettings {
  publicKey: KeyObject;
  maxSkewMs: number;
}

/** The caller's own inputs are checked first, so a bad key is reported whatever the message looks like. */
function verifierSettings(input: VerifyInput): VerifierSettings {
  const publicKey = loadPublicKey(input.publicKey);
  const maxSkewMs = input.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (!Number.isFinite(input.now)) {
    throw new AntomProtocolError('INVALID_ARGUMENT', 'now must be epoch milliseconds');
  }
  if (!(maxSkewMs >= 0)) throw new AntomProtocolError('INVALID_ARGUMENT', 'maxSkewMs must be >= 0');
  return { publicKey, maxSkewMs };
}

async function verifyMessage(
  input: VerifyInput,
  { publicKey, maxSkewMs }: VerifierSettings,
  clientId: string,
  timeHeader: 'Request-Time' | 'Response-Time',
  missingTime: AntomSignatureFailure,
  /** refuse: a request outside the window may be a replay; report: the caller reports a response's skew. */
  window: 'refuse' | 'report' = 'refuse',
): Promise<Verified | AntomVerificationFailure> {
  const rawTime = headerValue(input.headers, timeHeader);
  if (rawTime === DUPLICATE) return failure('DUPLICATE_HEADER', timeHeader);
  if (rawTime === undefined) return failure(missingTime);
  const signatureText = headerValue(input.headers, 'Signature');
  if (signatureText === DUPLICATE) return failure('DUPLICATE_HEADER', 'Signature');
  if (signatureText === undefined) return failure('MISSING_SIGNATURE');

  let header: AntomSignatureHeader;
  try {
    header = parseSignatureHeader(signatureText);
  } catch {
    return failure('MALFORMED_SIGNATURE_HEADER');
  }
  if (header.algorithm !== ANTOM_SIGNATURE_ALGORITHM) return failure('UNSUPPORTED_ALGORITHM');

  let time: number;
  try {
    time = parseRequestTime(rawTime);
  } catch {
    return failure('BAD_TIME_FORMAT', timeHeader);
  }
  if (window === 'refuse' && Math.abs(input.now - time) > maxSkewMs)
    return failure('TIME_OUTSIDE_WINDOW', timeHeader);

  let signature: Buffer;
  try {
    signature = decodeSignature(header.signature);
  } catch {
    return failure('MALFORMED_SIGNATURE');
  }
  // Checked before RSA so a truncated signature is named as such instead of as a mismatch.
  if (signature.length !== signatureLengthOf(publicKey)) return failure('SIGNATURE_WRONG_LENGTH');

  const content = buildSigningContent(
    input.method ?? ANTOM_METHOD,
    input.path,
    clientId,
    rawTime,
    input.rawBody,
  );
  if (!rsaVerify(content, signature, publicKey)) return failure('SIGNATURE_MISMATCH');

  if (input.replayGuard !== undefined) {
    const key = `${clientId}\n${createHash('sha256').update(signature).digest('base64')}`;
    if (await input.replayGuard.seen(key, time + maxSkewMs)) return failure('REPLAY');
  }
  const verified = { ok: true as const, clientId, time, rawTime };
  return header.keyVersion === undefined
    ? verified
    : { ...verified, keyVersion: header.keyVersion };
}

function signMessage(
  input: SignInput,
  time: number | string | undefined,
): { time: string; signature: string } {
  const privateKey = loadPrivateKey(input.privateKey);
  const timeText =
    typeof time === 'string'
      ? checkedTime(time)
      : formatRequestTime(time ?? Date.now(), input.timeFormat);
  const content = buildSigningContent(
    input.method ?? ANTOM_METHOD,
    input.path,
    input.clientId,
    timeText,
    input.body,
  );
  let signature: string;
  try {
    signature = sign('sha256', content, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PADDING,
    }).toString('base64');
  } catch {
    throw new AntomProtocolError('INVALID_KEY', 'private key cannot produce an RSA256 signature');
  }
  const keyVersion = String(input.keyVersion ?? DEFAULT_KEY_VERSION);
  return {
    time: timeText,
    signature: formatSignatureHeader({
      algorithm: ANTOM_SIGNATURE_ALGORITHM,
      keyVersion,
      signature,
    }),
  };
}

function checkedTime(text: string): string {
  parseRequestTime(text);
  return text;
}

function rsaVerify(content: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  try {
    return verify(
      'sha256',
      content,
      { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
      signature,
    );
  } catch {
    return false;
  }
}

const DUPLICATE = Symbol('duplicate header');

/** Case-insensitive lookup; an empty value counts as missing, two different values as a duplicate. */
function headerValue(
  headers: AntomHeaderSource,
  name: string,
): string | typeof DUPLICATE | undefined {
  const values =
    typeof headers.get === 'function'
      ? fromGetter(headers as { get(n: string): string | null }, name)
      : fromRecord(headers, name);
  const distinct = [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))];
  if (distinct.length > 1) return DUPLICATE;
  return distinct[0];
}

function fromGetter(headers: { get(name: string): string | null }, name: string): string[] {
  try {
    const value = headers.get(name);
    // fetch Headers joins repeated headers with ", ", which a Signature header also contains: leave it to parsing.
    return typeof value === 'string' ? [value] : [];
  } catch {
    return [];
  }
}

function fromRecord(headers: object, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (typeof value === 'string' || typeof value === 'number') values.push(String(value));
    else if (Array.isArray(value))
      values.push(...value.filter((v): v is string => typeof v === 'string'));
  }
  return values;
}

function failure(reason: AntomSignatureFailure, header?: string): AntomVerificationFailure {
  const message =
    header === undefined
      ? ANTOM_SIGNATURE_FAILURES[reason]
      : `${ANTOM_SIGNATURE_FAILURES[reason]} (${header})`;
  return { ok: false, reason, message };
}

function mapAll<K extends string, V>(table: Record<K, unknown>, value: V): Record<K, V> {
  return Object.fromEntries(Object.keys(table).map((k) => [k, value])) as Record<K, V>;
}
