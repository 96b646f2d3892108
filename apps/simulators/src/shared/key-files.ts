import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PemKeyPair {
  /** PKCS#8 PEM, from `<owner>-private.pem`. */
  privateKey: string;
  /** SPKI PEM, from `<owner>-public.pem`. */
  publicKey: string;
}

/**
 * RSA key pairs kept as PEM files in `dir`, `<owner>-private.pem` (mode 0600) and `<owner>-public.pem`, so that
 * the service under test can be pointed at the same files. An owner missing either file gets a new 2048-bit pair;
 * existing pairs are kept from run to run.
 */
export function ensureRsaKeyPairs<O extends string>(
  dir: string,
  owners: readonly O[],
): Record<O, PemKeyPair> {
  mkdirSync(dir, { recursive: true });
  const pairs = {} as Record<O, PemKeyPair>;
  for (const owner of owners) {
    const privatePath = join(dir, `${owner}-private.pem`);
    const publicPath = join(dir, `${owner}-public.pem`);
    if (!existsSync(privatePath) || !existsSync(publicPath)) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(privatePath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
      });
      writeFileSync(publicPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    }
    pairs[owner] = {
      privateKey: readFileSync(privatePath, 'utf8'),
      publicKey: readFileSync(publicPath, 'utf8'),
    };
  }
  return pairs;
}
