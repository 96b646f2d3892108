import NexoDerivedKeyGenerator from '@adyen/api-library/lib/src/security/nexoDerivedKeyGenerator';
import type { NexoDerivedKey } from '@adyen/api-library/lib/src/typings/terminal/models';

/*
 * @adyen/api-library derives the Nexo key material from the passphrase on every encrypt and every decrypt
 * (PBKDF2-HMAC-SHA1, 4000 rounds, and it asks for 640 bytes where 80 are used: about 25 ms of CPU each time). A
 * local diagnosis therefore costs 50 ms of CPU per exchange on each side. The derivation is a pure function of the
 * passphrase, so remembering its result changes no byte on the wire; the library's own NexoCrypto still does all the
 * encryption, HMAC and checks.
 */

type Derive = (passphrase: string) => NexoDerivedKey;

interface CacheState {
  original: Derive;
  entries: Map<string, NexoDerivedKey>;
  maxEntries: number;
  hits: number;
  misses: number;
}

let state: CacheState | undefined;

/**
 * Makes the library remember derived Nexo keys, per passphrase, for every TerminalLocalAPI and NexoCrypto in the
 * process. Idempotent; `maxEntries` bounds memory (least recently used passphrases are forgotten first).
 */
export function enableNexoKeyCache(options: { maxEntries?: number } = {}): void {
  const maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 4096));
  if (state) {
    state.maxEntries = maxEntries;
    return;
  }
  const original: Derive = NexoDerivedKeyGenerator.deriveKeyMaterial.bind(NexoDerivedKeyGenerator);
  const current: CacheState = { original, entries: new Map(), maxEntries, hits: 0, misses: 0 };
  state = current;
  NexoDerivedKeyGenerator.deriveKeyMaterial = (passphrase: string): NexoDerivedKey => {
    const known = current.entries.get(passphrase);
    if (known) {
      current.hits += 1;
      // Re-insert so the Map's order is least recently used first.
      current.entries.delete(passphrase);
      current.entries.set(passphrase, known);
      return known;
    }
    current.misses += 1;
    const derived = current.original(passphrase);
    current.entries.set(passphrase, derived);
    while (current.entries.size > current.maxEntries) {
      current.entries.delete(current.entries.keys().next().value as string);
    }
    return derived;
  };
}

/** Puts the library's own derivation back and forgets every cached key (tests). */
export function disableNexoKeyCache(): void {
  if (!state) return;
  NexoDerivedKeyGenerator.deriveKeyMaterial = state.original;
  state.entries.clear();
  state = undefined;
}

export function nexoKeyCacheStats(): {
  enabled: boolean;
  size: number;
  hits: number;
  misses: number;
} {
  return state
    ? { enabled: true, size: state.entries.size, hits: state.hits, misses: state.misses }
    : { enabled: false, size: 0, hits: 0, misses: 0 };
}
