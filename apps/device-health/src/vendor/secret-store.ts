import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import { SecretResolver } from '@tillbus/config';
import { loadPrivateKey, loadPublicKey } from '@tillbus/protocols-antom';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG, SECRET_ENV } from '../config';

/** A secret that cannot be used; the message names the reference, never a value. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

interface Cached<T> {
  value: T;
  source: string;
  until: number;
}

/**
 * Resolves the registry's secret references (env:NAME, file:/path, a name under SECRETS_DIR) and keeps the
 * result for SECRET_CACHE_MS, so a rotated mounted secret is picked up without a restart and a fleet of
 * thousands does not read a file per diagnosis. Parsed keys are kept while the secret text is unchanged.
 */
@Injectable()
export class SecretStore {
  private readonly resolver: SecretResolver;
  private readonly texts = new Map<string, Cached<string>>();
  private readonly keys = new Map<string, Cached<KeyObject>>();

  constructor(
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SECRET_ENV) env: Record<string, string | undefined>,
  ) {
    this.resolver = new SecretResolver({ env });
  }

  text(ref: string): string {
    const now = this.clock.now();
    const known = this.texts.get(ref);
    if (known && known.until > now) return known.value;
    const resolved = this.resolver.tryResolve(ref);
    if (!resolved.ok) throw new SecretUnavailableError(resolved.message);
    this.texts.set(ref, {
      value: resolved.value,
      source: ref,
      until: now + this.config.SECRET_CACHE_MS,
    });
    return resolved.value;
  }

  privateKey(ref: string): KeyObject {
    return this.key(ref, 'private', loadPrivateKey);
  }

  publicKey(ref: string): KeyObject {
    return this.key(ref, 'public', loadPublicKey);
  }

  private key(ref: string, kind: string, load: (text: string) => KeyObject): KeyObject {
    const text = this.text(ref);
    const cacheKey = `${kind}\n${ref}`;
    const known = this.keys.get(cacheKey);
    if (known && known.source === text) return known.value;
    let key: KeyObject;
    try {
      key = load(text);
    } catch (error) {
      throw new SecretUnavailableError(`secret ${ref}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.keys.set(cacheKey, { value: key, source: text, until: 0 });
    return key;
  }
}
