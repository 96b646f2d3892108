import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The common name @adyen/api-library accepts for a local terminal: its checkServerIdentity wants
 * `<model>-<serial>.(live|test).terminal.adyen.com` or `legacy-terminal-certificate.(live|test).terminal.adyen.com`.
 * One simulator serves many terminals, so it uses the legacy name.
 */
export const SIMULATOR_CERT_CN = 'legacy-terminal-certificate.test.terminal.adyen.com';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Where the certificate is on disk: the CA file a client trusts (ADYEN_TERMINAL_CA_FILE). */
  certPath: string;
}

/**
 * A self-signed certificate for the simulator, made with the `openssl` CLI (Node cannot issue X.509
 * certificates). It is its own CA, so clients trust it by pointing their CA file at `cert.pem`. Never committed:
 * generated into `dir` at start.
 */
export function generateSelfSignedCertificate(dir: string, days = 30): TlsMaterial {
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const run = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-subj',
      `/CN=${SIMULATOR_CERT_CN}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { encoding: 'utf8' },
  );
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : run.stderr.trim().split('\n').slice(-2).join(' ');
    throw new Error(
      `cannot generate the simulator's TLS certificate with openssl (${why}); install openssl or pass a certificate and key`,
    );
  }
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath };
}
