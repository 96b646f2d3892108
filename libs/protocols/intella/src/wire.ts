import {
  KeyObject,
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import {
  bodyToObject,
  decodeBase64,
  decodeUtf8,
  isJsonObject,
  parseJsonObject,
  stringifyJson,
  type JsonObject,
} from './codec';
import { IntellaProtocolError } from './errors';

/** What goes over HTTPS to intella. */
export interface IntellaWireRequest {
  /** base64(AES-128-CBC/PKCS7(plain request JSON)) */
  Request: string;
  /** base64(RSA-PKCS1v1.5(Base64 text of the AES key)) */
  ApiKey: string;
}

export interface IntellaWireResponse {
  /** base64(AES-128-CBC/PKCS7(plain response JSON)), same key and IV as the request */
  Response: string;
}

/** PEM text, Base64 DER (SPKI / PKCS#8, as Java tooling exports), DER bytes, or a KeyObject. */
export type IntellaKeyInput = string | Uint8Array | KeyObject;

export interface IntellaClientKeys {
  intellaPublicKey: IntellaKeyInput;
  /** The 16-character IV intella supplies. */
  iv: string;
}

export interface IntellaServerKeys {
  privateKey: IntellaKeyInput;
  iv: string;
}

const AES_KEY_BYTES = 16;
const AES_ALGORITHM = 'aes-128-cbc';

export function loadIntellaPublicKey(input: IntellaKeyInput): KeyObject {
  return loadRsaKey(input, 'public');
}

export function loadIntellaPrivateKey(input: IntellaKeyInput): KeyObject {
  return loadRsaKey(input, 'private');
}

function loadRsaKey(input: IntellaKeyInput, type: 'public' | 'private'): KeyObject {
  let key: KeyObject;
  try {
    key = input instanceof KeyObject ? input : parseKey(input, type);
  } catch (error) {
    if (error instanceof IntellaProtocolError) throw error;
    throw new IntellaProtocolError('BAD_KEY', `the ${type} key cannot be read`);
  }
  if (key.type !== type || key.asymmetricKeyType !== 'rsa') {
    throw new IntellaProtocolError('BAD_KEY', `expected an RSA ${type} key`);
  }
  return key;
}

function parseKey(input: string | Uint8Array, type: 'public' | 'private'): KeyObject {
  if (typeof input === 'string' && input.includes('-----BEGIN')) {
    return type === 'public' ? createPublicKey(input) : createPrivateKey(input);
  }
  const der =
    typeof input === 'string'
      ? decodeBase64(input.trim(), 'BAD_KEY', 'the key')
      : Buffer.from(input);
  return type === 'public'
    ? createPublicKey({ key: der, format: 'der', type: 'spki' })
    : createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

function ivBytes(iv: unknown): Buffer {
  if (typeof iv !== 'string' || Buffer.byteLength(iv, 'utf8') !== 16) {
    throw new IntellaProtocolError('BAD_IV');
  }
  return Buffer.from(iv, 'utf8');
}

function aesKeyBytes(aesKey: unknown): Buffer {
  if (!(aesKey instanceof Uint8Array) || aesKey.length !== AES_KEY_BYTES) {
    throw new IntellaProtocolError('BAD_KEY', 'the AES key must be 16 bytes');
  }
  return Buffer.from(aesKey);
}

function plainText(plain: string | object, what: string): string {
  const text = typeof plain === 'string' ? plain : stringifyJson(plain, what);
  parseJsonObject(text, 'MALFORMED_JSON', what);
  return text;
}

function aesEncrypt(text: string, key: Buffer, iv: Buffer): string {
  const cipher = createCipheriv(AES_ALGORITHM, key, iv);
  return Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
}

function aesDecryptToObject(body: Buffer, key: Buffer, iv: Buffer, what: string): JsonObject {
  if (body.length === 0 || body.length % 16 !== 0) {
    throw new IntellaProtocolError(
      'DECRYPTION_FAILED',
      `${what} is not a whole number of AES blocks`,
    );
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv(AES_ALGORITHM, key, iv);
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new IntellaProtocolError('DECRYPTION_FAILED', `${what} could not be decrypted`);
  }
  // CBC has no integrity check: a wrong key shows up as bytes that are not text
  const text = decodeUtf8(plain, 'DECRYPTION_FAILED', `decrypted ${what}`);
  return parseJsonObject(text, 'MALFORMED_JSON', `decrypted ${what}`);
}

/** Client side: seal a plain request with a fresh AES-128 key. Keep `aesKey` in memory only, to open the answer. */
export function encryptRequest(
  plain: string | object,
  keys: IntellaClientKeys,
): { wire: IntellaWireRequest; aesKey: Buffer } {
  const iv = ivBytes(keys.iv);
  const publicKey = loadIntellaPublicKey(keys.intellaPublicKey);
  const text = plainText(plain, 'the plain request');
  const aesKey = randomBytes(AES_KEY_BYTES);
  let apiKey: Buffer;
  try {
    apiKey = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.from(aesKey.toString('base64'), 'utf8'),
    );
  } catch {
    throw new IntellaProtocolError('BAD_KEY', 'the intella public key cannot encrypt the AES key');
  }
  return {
    wire: { Request: aesEncrypt(text, aesKey, iv), ApiKey: apiKey.toString('base64') },
    aesKey,
  };
}

/** Client side: open intella's answer with the key and IV of the request. */
export function decryptResponse(body: unknown, aesKey: Uint8Array, iv: string): JsonObject {
  const ivBuffer = ivBytes(iv);
  const key = aesKeyBytes(aesKey);
  const wire = parseWireResponse(body);
  return aesDecryptToObject(
    decodeBase64(wire.Response, 'MALFORMED_ENVELOPE', 'Response'),
    key,
    ivBuffer,
    'Response',
  );
}

/** Server side (the simulator): recover the AES key and the plain request. */
export function decryptRequest(
  body: unknown,
  keys: IntellaServerKeys,
): { plain: JsonObject; aesKey: Buffer } {
  const iv = ivBytes(keys.iv);
  const privateKey = loadIntellaPrivateKey(keys.privateKey);
  const wire = parseWireRequest(body);
  const wrapped = decodeBase64(wire.ApiKey, 'MALFORMED_ENVELOPE', 'ApiKey');
  const keyText = rsaPkcs1v15Decrypt(privateKey, wrapped);
  const aesKey = decodeBase64(
    decodeUtf8(keyText, 'DECRYPTION_FAILED', 'the AES key'),
    'DECRYPTION_FAILED',
    'the AES key',
  );
  if (aesKey.length !== AES_KEY_BYTES) {
    throw new IntellaProtocolError('DECRYPTION_FAILED', 'the AES key is not 16 bytes');
  }
  const request = decodeBase64(wire.Request, 'MALFORMED_ENVELOPE', 'Request');
  return { plain: aesDecryptToObject(request, aesKey, iv, 'Request'), aesKey };
}

/** Server side (the simulator): seal the plain answer with the client's key and the shared IV. */
export function encryptResponse(
  plain: string | object,
  aesKey: Uint8Array,
  iv: string,
): IntellaWireResponse {
  const ivBuffer = ivBytes(iv);
  const key = aesKeyBytes(aesKey);
  return { Response: aesEncrypt(plainText(plain, 'the plain response'), key, ivBuffer) };
}

export function parseWireRequest(body: unknown): IntellaWireRequest {
  const envelope = bodyToObject(body, 'MALFORMED_ENVELOPE', 'the request body');
  const missing = ['Request', 'ApiKey'].filter((field) => typeof envelope[field] !== 'string');
  if (missing.length > 0) {
    throw new IntellaProtocolError(
      'MALFORMED_ENVELOPE',
      'expected string fields Request and ApiKey',
      { missing },
    );
  }
  return { Request: envelope.Request as string, ApiKey: envelope.ApiKey as string };
}

/** A body that is nothing but a four-digit StatusCode (`8003`), as intella answers some errors. */
const BARE_STATUS_CODE = /^\s*"?(\d{4})"?\s*$/;

/**
 * A body without `Response` may be an unencrypted error header (intella cannot encrypt an answer to a request it
 * could not decrypt), or only the StatusCode itself (`8003`); the StatusCode goes into `details` so the caller can
 * still classify it. Public clients turn a literal `\u003d` in `Response` back into `=` before Base64-decoding it
 * (protocols.md §6), so this does too.
 */
export function parseWireResponse(body: unknown): IntellaWireResponse {
  const bare = bareStatusCode(body);
  if (bare !== undefined) {
    throw new IntellaProtocolError(
      'MALFORMED_ENVELOPE',
      `the response body is only StatusCode ${bare}`,
      { statusCode: bare },
    );
  }
  const envelope = bodyToObject(body, 'MALFORMED_ENVELOPE', 'the response body');
  if (typeof envelope.Response === 'string')
    return { Response: envelope.Response.replace(/\\u003d/gi, '=') };
  const header = envelope.Header;
  const statusCode =
    isJsonObject(header) && typeof header.StatusCode === 'string' ? header.StatusCode : undefined;
  const details =
    statusCode !== undefined && /^\d{4}$/.test(statusCode) ? { statusCode } : undefined;
  throw new IntellaProtocolError('MALFORMED_ENVELOPE', 'expected a string field Response', details);
}

function bareStatusCode(body: unknown): string | undefined {
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (typeof body === 'number' && Number.isInteger(body)) text = String(body);
  else if (body instanceof Uint8Array && body.length <= 16)
    text = Buffer.from(body).toString('latin1');
  return text === undefined ? undefined : BARE_STATUS_CODE.exec(text)?.[1];
}

/**
 * RSA PKCS#1 v1.5 decryption done by hand. Node 20 refuses RSA_PKCS1_PADDING in privateDecrypt (CVE-2023-46809,
 * Marvin) unless started with --security-revert; raw RSA plus our own unpadding works on every Node. Only the
 * simulator runs this: the real private key lives at intella, so this server is no padding oracle for real traffic.
 */
function rsaPkcs1v15Decrypt(privateKey: KeyObject, ciphertext: Buffer): Buffer {
  const modulusBytes = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (ciphertext.length !== modulusBytes) {
    throw new IntellaProtocolError('DECRYPTION_FAILED', 'ApiKey does not match the RSA key size');
  }
  let block: Buffer;
  try {
    block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    throw new IntellaProtocolError('DECRYPTION_FAILED', 'ApiKey could not be decrypted');
  }
  // EME-PKCS1-v1_5: 0x00 0x02 PS (at least 8 non-zero bytes) 0x00 M
  const separator = block.indexOf(0, 2);
  if (block.length !== modulusBytes || block[0] !== 0x00 || block[1] !== 0x02 || separator < 10) {
    throw new IntellaProtocolError('DECRYPTION_FAILED', 'ApiKey could not be decrypted');
  }
  return block.subarray(separator + 1);
}
