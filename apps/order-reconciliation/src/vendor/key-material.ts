import type { KeyObject } from 'node:crypto';
import { SecretResolver } from '@tillbus/config';
import { loadPrivateKey, loadPublicKey } from '@tillbus/protocols-antom';
import type { OrderReconciliationConfig } from '../config';

export const KEY_MATERIAL = Symbol('KEY_MATERIAL');

/** Both RSA keys, resolved from their references once at boot and held as KeyObjects (never logged). */
export interface KeyMaterial {
  /** Signs our answers to D-Store and our notifyOrderChange requests. */
  posPrivateKey: KeyObject;
  /** Verifies D-Store's requests and its answers to notifyOrderChange. */
  dstorePublicKey: KeyObject;
}

export class KeyMaterialError extends Error {
  override readonly name = 'KeyMaterialError';
}

/** Throws a message that names the reference and the problem, never the key. */
export function loadKeyMaterial(
  config: Pick<OrderReconciliationConfig, 'POS_PRIVATE_KEY_REF' | 'DSTORE_PUBLIC_KEY_REF'>,
  resolver: SecretResolver,
): KeyMaterial {
  return {
    posPrivateKey: loadOne(config.POS_PRIVATE_KEY_REF, 'POS_PRIVATE_KEY_REF', resolver, (text) =>
      loadPrivateKey(text),
    ),
    dstorePublicKey: loadOne(
      config.DSTORE_PUBLIC_KEY_REF,
      'DSTORE_PUBLIC_KEY_REF',
      resolver,
      (text) => loadPublicKey(text),
    ),
  };
}

function loadOne(
  ref: string,
  setting: string,
  resolver: SecretResolver,
  parse: (text: string) => KeyObject,
): KeyObject {
  const resolved = resolver.tryResolve(ref);
  if (!resolved.ok) throw new KeyMaterialError(`${setting}: ${resolved.message}`);
  try {
    return parse(resolved.value);
  } catch (error) {
    throw new KeyMaterialError(`${setting} (${ref}): ${(error as Error).message}`);
  }
}
