import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { SecretResolver } from '@tillbus/config';

/** NewAESKey as it rests in KV: AES-256-GCM, bound to its reader and sign-on by the additional data. */
export interface SealedKey {
  alg: 'A256GCM';
  /** Which key-encryption key sealed it (a hash of the key, not the key). */
  kid: string;
  /** The sign-on this key belongs to; part of the additional data. */
  signedAt: number;
  nonce: string;
  tag: string;
  ct: string;
}

export class KeyBoxError extends Error {
  override readonly name = 'KeyBoxError';
}

const KEY_BYTES = 32;

/** A 32-byte key from its secret text: 64 hex digits or Base64 (44 characters). */
export function parseKeyEncryptionKey(text: string, ref: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/]{43}=$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  if (!key || key.length !== KEY_BYTES) {
    throw new KeyBoxError(`secret ${ref} must hold a 32-byte key as 64 hex digits or Base64`);
  }
  return key;
}

function keyId(key: Buffer): string {
  return createHash('sha256').update('tillbus-easycard-kek').update(key).digest('hex').slice(0, 16);
}

/**
 * Encrypts NewAESKey at rest with AES-256-GCM under a key from a secret. A previous key may be given during a
 * rotation: records sealed with it still open, new ones use the current key.
 */
export class KeyBox {
  private readonly keys: Map<string, Buffer>;
  /** Whether a sealed key opens, per stored object: records are immutable, a new one is a new object. */
  private readonly opened = new WeakMap<SealedKey, boolean>();
  readonly kid: string;

  constructor(
    private readonly current: Buffer,
    previous?: Buffer,
  ) {
    if (current.length !== KEY_BYTES)
      throw new KeyBoxError('the key-encryption key must be 32 bytes');
    this.kid = keyId(current);
    this.keys = new Map([[this.kid, current]]);
    if (previous) this.keys.set(keyId(previous), previous);
  }

  static fromSecrets(secrets: SecretResolver, ref: string, previousRef?: string): KeyBox {
    const current = parseKeyEncryptionKey(secrets.resolve(ref), ref);
    const previous = previousRef
      ? parseKeyEncryptionKey(secrets.resolve(previousRef), previousRef)
      : undefined;
    return new KeyBox(current, previous);
  }

  seal(plain: string, binding: { deviceId: string; mchId: string; signedAt: number }): SealedKey {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current, nonce);
    cipher.setAAD(additionalData(binding));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      kid: this.kid,
      signedAt: binding.signedAt,
      nonce: nonce.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  /** Opens a sealed key; fails when the key-encryption key is unknown or anything was changed or moved. */
  open(sealed: SealedKey, binding: { deviceId: string; mchId: string }): string {
    const key = this.keys.get(sealed.kid);
    if (!key) throw new KeyBoxError(`sealed with key ${sealed.kid}, which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'));
      decipher.setAAD(additionalData({ ...binding, signedAt: sealed.signedAt }));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([
        decipher.update(Buffer.from(sealed.ct, 'base64')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new KeyBoxError(
        'the sealed key does not authenticate (tampered, or moved to another reader)',
      );
    }
  }

  /** Whether a sealed key opens with this key material (the answer is remembered per sealed object). */
  opens(sealed: SealedKey, binding: { deviceId: string; mchId: string }): boolean {
    let known = this.opened.get(sealed);
    if (known === undefined) {
      try {
        this.open(sealed, binding);
        known = true;
      } catch {
        known = false;
      }
      this.opened.set(sealed, known);
    }
    return known;
  }

  /** A keyed digest of configuration, to notice a change without storing anything that helps guess a secret. */
  fingerprint(parts: readonly string[]): string {
    return createHmac('sha256', this.current)
      .update(JSON.stringify(parts))
      .digest('hex')
      .slice(0, 16);
  }
}

function additionalData(binding: { deviceId: string; mchId: string; signedAt: number }): Buffer {
  return Buffer.from(
    `tillbus.easycard.session|${binding.deviceId}|${binding.mchId}|${binding.signedAt}`,
    'utf8',
  );
}
