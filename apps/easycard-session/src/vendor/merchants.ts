import type { KeyObject } from 'node:crypto';
import { IsString, Matches } from 'class-validator';
import { ConfigError, isSecretRef, type SecretResolver } from '@tillbus/config';
import { MCH_ID } from '@tillbus/contracts';
import { loadIntellaPublicKey, tradeKeyFromPassword } from '@tillbus/protocols-intella';
import { validatePlain, type Violation } from '@tillbus/validation';

/** One merchant as configured in INTELLA_MERCHANTS: ids and URL in clear, the rest as secret references. */
export class MerchantEntry {
  @Matches(MCH_ID, { message: 'mchId must be 1-64 letters, digits, _ or -' })
  mchId!: string;

  @Matches(/^https?:\/\/[^\s]+$/, { message: 'url must be an http(s) URL' })
  url!: string;

  /** Secret reference to the trade password (the TradeKey is its SHA-256). */
  @IsString()
  tradePassword!: string;

  /** Secret reference to intella's RSA public key (PEM or Base64 SPKI DER). */
  @IsString()
  publicKey!: string;

  /** Secret reference to the 16-character IV intella supplies. */
  @IsString()
  iv!: string;
}

/** A merchant ready to call intella. Secrets live only in this object, in memory. */
export interface ResolvedMerchant {
  mchId: string;
  url: string;
  tradeKey: string;
  publicKey: KeyObject;
  iv: string;
}

const SECRET_FIELDS = ['tradePassword', 'publicKey', 'iv'] as const;

/** Parses and validates INTELLA_MERCHANTS; every problem is named by its path, never by a value. */
export function parseMerchantEntries(text: string): MerchantEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError([
      { field: 'INTELLA_MERCHANTS', problems: ['must be a JSON array of merchants'] },
    ]);
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigError([
      { field: 'INTELLA_MERCHANTS', problems: ['must be a non-empty JSON array of merchants'] },
    ]);
  }
  const violations: Violation[] = [];
  const entries: MerchantEntry[] = [];
  raw.forEach((item, index) => {
    const root = `INTELLA_MERCHANTS[${index}]`;
    const result = validatePlain(MerchantEntry, item, { root });
    if (!result.ok) {
      violations.push(...result.violations);
      return;
    }
    for (const field of SECRET_FIELDS) {
      if (!isSecretRef(result.value[field])) {
        violations.push({
          field: `${root}.${field}`,
          problems: [
            'must be a secret reference (env:NAME, file:/path or a name under SECRETS_DIR)',
          ],
        });
      }
    }
    entries.push(result.value);
  });
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.mchId)) {
      violations.push({
        field: 'INTELLA_MERCHANTS',
        problems: [`merchant ${entry.mchId} is listed twice`],
      });
    }
    seen.add(entry.mchId);
  }
  if (violations.length > 0) throw new ConfigError(violations);
  return entries;
}

/**
 * Resolves every merchant's secrets and checks them: a TradeKey can be derived, the public key is an RSA public
 * key, the IV is 16 bytes. All problems at once, named by path and reference.
 */
export function resolveMerchants(
  entries: MerchantEntry[],
  secrets: SecretResolver,
): Map<string, ResolvedMerchant> {
  const violations: Violation[] = [];
  const merchants = new Map<string, ResolvedMerchant>();
  entries.forEach((entry, index) => {
    const root = `INTELLA_MERCHANTS[${index}]`;
    const read = (field: (typeof SECRET_FIELDS)[number]): string | undefined => {
      const result = secrets.tryResolve(entry[field]);
      if (result.ok) return result.value;
      violations.push({ field: `${root}.${field}`, problems: [result.message] });
      return undefined;
    };
    const password = read('tradePassword');
    const pem = read('publicKey');
    const iv = read('iv');
    let publicKey: KeyObject | undefined;
    if (pem !== undefined) {
      try {
        publicKey = loadIntellaPublicKey(pem);
      } catch {
        violations.push({
          field: `${root}.publicKey`,
          problems: [`secret ${entry.publicKey} is not an RSA public key (PEM or Base64 SPKI)`],
        });
      }
    }
    if (iv !== undefined && Buffer.byteLength(iv, 'utf8') !== 16) {
      violations.push({
        field: `${root}.iv`,
        problems: [`secret ${entry.iv} must hold exactly 16 characters`],
      });
    }
    if (password !== undefined && publicKey && iv !== undefined) {
      merchants.set(entry.mchId, {
        mchId: entry.mchId,
        url: entry.url,
        tradeKey: tradeKeyFromPassword(password),
        publicKey,
        iv,
      });
    }
  });
  if (violations.length > 0) throw new ConfigError(violations);
  return merchants;
}
