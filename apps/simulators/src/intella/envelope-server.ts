import {
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  type KeyObject,
} from 'node:crypto';

/**
 * intella's side of the encrypted envelope, written here from protocols.md §6 on node:crypto alone and NOT with
 * the protocol lib's wire functions, so the service's client and this server are two independent readings of the
 * spec: an interop test between them catches a mistake made the same way on both sides of one library.
 *
 * Request:  {"Request": base64(AES-128-CBC/PKCS7(plain JSON)), "ApiKey": base64(RSA-PKCS1v1.5(base64(aesKey)))}
 * Response: {"Response": base64(AES-128-CBC/PKCS7(plain JSON))} with the request's AES key and the same IV.
 */
export type EnvelopeStage = 'ENVELOPE' | 'API_KEY' | 'REQUEST_BODY' | 'REQUEST_JSON';

export class EnvelopeOpenError extends Error {
  override readonly name = 'EnvelopeOpenError';
  constructor(
    readonly stage: EnvelopeStage,
    message: string,
  ) {
    super(message);
  }
}

export interface OpenedRequest {
  plain: Record<string, unknown>;
  aesKey: Buffer;
  /** The IV (one of the candidates) under which the body decrypted to a JSON object. */
  iv: string;
}

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function base64(text: unknown, stage: EnvelopeStage, what: string): Buffer {
  if (typeof text !== 'string') throw new EnvelopeOpenError(stage, `${what} is not a string`);
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new EnvelopeOpenError(stage, `${what} is not Base64`);
  }
  return Buffer.from(compact, 'base64');
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** RSAES-PKCS1-v1_5 decryption: raw RSA, then strip 0x00 0x02 PS(>= 8 non-zero bytes) 0x00. */
function unwrapApiKey(privateKey: KeyObject, wrapped: Buffer): Buffer {
  const size = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (wrapped.length !== size)
    throw new EnvelopeOpenError('API_KEY', 'ApiKey has the wrong length');
  let block: Buffer;
  try {
    block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, wrapped);
  } catch {
    throw new EnvelopeOpenError('API_KEY', 'ApiKey does not decrypt');
  }
  let zero = -1;
  for (let i = 2; i < block.length; i++) {
    if (block[i] === 0) {
      zero = i;
      break;
    }
  }
  if (block[0] !== 0 || block[1] !== 2 || zero < 10) {
    throw new EnvelopeOpenError('API_KEY', 'ApiKey padding is wrong');
  }
  const keyText = block.subarray(zero + 1);
  let text: string;
  try {
    text = UTF8.decode(keyText);
  } catch {
    throw new EnvelopeOpenError('API_KEY', 'the wrapped AES key is not text');
  }
  const aesKey = base64(text, 'API_KEY', 'the wrapped AES key');
  if (aesKey.length !== 16) throw new EnvelopeOpenError('API_KEY', 'the AES key is not 16 bytes');
  return aesKey;
}

function aesDecrypt(body: Buffer, key: Buffer, iv: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, Buffer.from(iv, 'utf8'));
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Opens a wire request. The IV is not in the envelope and the merchant is only inside it, so every configured IV
 * is tried; `accept` says whether the plain request belongs to that IV (its MchId uses it).
 */
export function openRequest(
  body: Buffer,
  privateKey: KeyObject,
  ivs: readonly string[],
  accept: (plain: Record<string, unknown>, iv: string) => boolean = () => true,
): OpenedRequest {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new EnvelopeOpenError('ENVELOPE', 'the body is not UTF-8');
  }
  const envelope = jsonObject(text);
  if (!envelope) throw new EnvelopeOpenError('ENVELOPE', 'the body is not a JSON object');
  const aesKey = unwrapApiKey(privateKey, base64(envelope.ApiKey, 'ENVELOPE', 'ApiKey'));
  const sealed = base64(envelope.Request, 'ENVELOPE', 'Request');
  if (sealed.length % 16 !== 0)
    throw new EnvelopeOpenError('REQUEST_BODY', 'Request is not whole AES blocks');
  let decrypted = false;
  for (const iv of ivs) {
    const clear = aesDecrypt(sealed, aesKey, iv);
    if (!clear) continue;
    decrypted = true;
    let plainText: string;
    try {
      plainText = UTF8.decode(clear);
    } catch {
      continue;
    }
    const plain = jsonObject(plainText);
    if (plain && accept(plain, iv)) return { plain, aesKey, iv };
  }
  throw decrypted
    ? new EnvelopeOpenError(
        'REQUEST_JSON',
        'Request does not decrypt to a JSON object under any IV',
      )
    : new EnvelopeOpenError('REQUEST_BODY', 'Request does not decrypt (padding)');
}

/** Seals an answer with the client's AES key and the merchant's IV. */
export function sealResponse(plain: object, aesKey: Buffer, iv: string): { Response: string } {
  const cipher = createCipheriv('aes-128-cbc', aesKey, Buffer.from(iv, 'utf8'));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
  return { Response: sealed.toString('base64') };
}
