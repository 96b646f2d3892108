import { AntomProtocolError } from './errors';

/** The only algorithm Antom defines: SHA256withRSA, PKCS#1 v1.5. */
export const ANTOM_SIGNATURE_ALGORITHM = 'RSA256';

export interface AntomSignatureHeader {
  algorithm: string;
  /** Absent when the sender omits it; Antom's samples always send `1`. */
  keyVersion?: string;
  /** Standard Base64 text, already URL-decoded. */
  signature: string;
}

// Far above a 4096-bit signature; stops a hostile header from costing work.
const MAX_HEADER_LENGTH = 4096;
const TOKEN = /^[A-Za-z0-9._-]+$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `algorithm=RSA256,keyVersion=1,signature=<URL-encoded Base64>` */
export function formatSignatureHeader(header: AntomSignatureHeader): string {
  if (!TOKEN.test(header.algorithm)) throw invalidArgument('algorithm');
  if (header.keyVersion !== undefined && !TOKEN.test(header.keyVersion))
    throw invalidArgument('keyVersion');
  if (!isStrictBase64(header.signature)) throw invalidArgument('signature');
  const parts = [`algorithm=${header.algorithm}`];
  if (header.keyVersion !== undefined) parts.push(`keyVersion=${header.keyVersion}`);
  // Base64 text is ASCII, so encodeURIComponent is exactly form encoding here: + / = become %2B %2F %3D.
  parts.push(`signature=${encodeURIComponent(header.signature)}`);
  return parts.join(',');
}

/** Reads a Signature header, with or without spaces after the commas; unknown attributes are ignored. */
export function parseSignatureHeader(text: unknown): AntomSignatureHeader {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_HEADER_LENGTH)
    throw malformed();
  const attributes = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw malformed();
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name.length === 0 || value.length === 0 || attributes.has(name)) throw malformed();
    attributes.set(name, value);
  }
  const algorithm = attributes.get('algorithm');
  const keyVersion = attributes.get('keyVersion');
  const encoded = attributes.get('signature');
  if (algorithm === undefined || encoded === undefined) throw malformed();
  let signature: string;
  try {
    // Not form decoding: a sender that forgot to URL-encode still has its '+' read as '+', not as a space.
    signature = decodeURIComponent(encoded);
  } catch {
    throw malformed();
  }
  return keyVersion === undefined ? { algorithm, signature } : { algorithm, keyVersion, signature };
}

/** The signature bytes of strict standard Base64 text. */
export function decodeSignature(base64Text: string): Buffer {
  if (!isStrictBase64(base64Text)) throw new AntomProtocolError('MALFORMED_SIGNATURE');
  return Buffer.from(base64Text, 'base64');
}

function isStrictBase64(text: unknown): text is string {
  return typeof text === 'string' && text.length > 0 && STRICT_BASE64.test(text);
}

function malformed(): AntomProtocolError {
  return new AntomProtocolError('MALFORMED_SIGNATURE_HEADER');
}

function invalidArgument(field: string): AntomProtocolError {
  return new AntomProtocolError(
    'INVALID_ARGUMENT',
    `Signature header ${field} cannot be formatted`,
  );
}
