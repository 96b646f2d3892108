import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { AntomProtocolError } from './errors';

/** A PEM string, bare Base64 DER (as Antom's console shows keys), DER bytes, or a ready KeyObject. */
export type AntomKeyInput = string | Uint8Array | KeyObject;

/** An RSA private key: PKCS#8 (PEM or DER); PKCS#1 PEM is accepted too because Node reads it the same way. */
export function loadPrivateKey(input: AntomKeyInput): KeyObject {
  const key = tryLoad(() => {
    if (input instanceof KeyObject) return input;
    const der = derOf(input);
    return der === undefined
      ? createPrivateKey({ key: input as string, format: 'pem' })
      : createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  });
  if (key?.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new AntomProtocolError(
      'INVALID_KEY',
      'private key must be an RSA PKCS#8 key (PEM, Base64 DER or KeyObject)',
    );
  }
  return key;
}

/** An RSA public key: X.509 SubjectPublicKeyInfo (PEM or DER); a private KeyObject yields its public half. */
export function loadPublicKey(input: AntomKeyInput): KeyObject {
  const key = tryLoad(() => {
    if (input instanceof KeyObject)
      return input.type === 'private' ? createPublicKey(input) : input;
    const der = derOf(input);
    return der === undefined
      ? createPublicKey({ key: input as string, format: 'pem' })
      : createPublicKey({ key: der, format: 'der', type: 'spki' });
  });
  if (key?.type !== 'public' || key.asymmetricKeyType !== 'rsa') {
    throw new AntomProtocolError(
      'INVALID_KEY',
      'public key must be an RSA X.509 SPKI key (PEM, Base64 DER or KeyObject)',
    );
  }
  return key;
}

/** Signature length in bytes for an RSA key: the modulus length (256 for RSA-2048). */
export function signatureLengthOf(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new AntomProtocolError('INVALID_KEY', 'key has no RSA modulus');
  return Math.ceil(bits / 8);
}

/** Undefined for PEM text; DER bytes otherwise. */
function derOf(input: string | Uint8Array): Buffer | undefined {
  if (typeof input !== 'string') return Buffer.from(input);
  if (input.includes('-----BEGIN')) return undefined;
  const compact = input.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact))
    throw new AntomProtocolError('INVALID_KEY', 'key is neither PEM nor Base64 DER');
  return Buffer.from(compact, 'base64');
}

function tryLoad(load: () => KeyObject): KeyObject | undefined {
  try {
    return load();
  } catch (error) {
    if (error instanceof AntomProtocolError) throw error;
    return undefined;
  }
}
