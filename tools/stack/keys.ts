import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The demo's key material, generated on first start into the ignored `.tillbus/keys` folder and reused after
 * that (so simulators and services keep agreeing across restarts). Never committed, never printed.
 */
export type KeySpec =
  /** An RSA-2048 pair: `<name>.key.pem` (PKCS#8) and `<name>.pub.pem` (X.509 SubjectPublicKeyInfo). */
  | { name: string; kind: 'rsa' }
  /** Random bytes, written as text in the given encoding: `<name>.<encoding>`. */
  | { name: string; kind: 'bytes'; bytes: number; encoding: 'base64' | 'hex' }
  /** A random password of letters and digits: `<name>.txt`. */
  | { name: string; kind: 'password'; length: number };

export interface KeyFiles {
  /** For an RSA pair: the private key file. For the others: the one file. */
  file: string;
  /** For an RSA pair: the public key file. */
  publicFile?: string;
}

export function ensureKeys(
  dir: string,
  specs: KeySpec[],
): { files: Record<string, KeyFiles>; created: string[] } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const files: Record<string, KeyFiles> = {};
  const created: string[] = [];
  for (const spec of specs) {
    if (spec.kind === 'rsa') {
      const file = join(dir, `${spec.name}.key.pem`);
      const publicFile = join(dir, `${spec.name}.pub.pem`);
      if (!existsSync(file) || !existsSync(publicFile)) {
        const pair = generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        });
        writeSecret(file, pair.privateKey);
        writeFileSync(publicFile, pair.publicKey, { mode: 0o644 });
        created.push(spec.name);
      }
      files[spec.name] = { file, publicFile };
      continue;
    }
    const file = join(
      dir,
      spec.kind === 'bytes' ? `${spec.name}.${spec.encoding}` : `${spec.name}.txt`,
    );
    if (!existsSync(file)) {
      writeSecret(
        file,
        spec.kind === 'bytes'
          ? randomBytes(spec.bytes).toString(spec.encoding)
          : randomPassword(spec.length),
      );
      created.push(spec.name);
    }
    files[spec.name] = { file };
  }
  return { files, created };
}

const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export function randomPassword(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join('');
}

function writeSecret(file: string, content: string): void {
  writeFileSync(file, content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600 });
}
