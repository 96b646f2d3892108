import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A test CA and a server certificate it signed, for 127.0.0.1 and localhost (PEM files). */
export interface TestCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Where vitest's global setup puts the run's certificates; test processes find them here. */
export const TEST_TLS_DIR_VARIABLE = 'TILLBUS_TEST_TLS_DIR';

/**
 * Generates, with the openssl CLI, a throwaway CA and a server certificate for 127.0.0.1 and localhost in `dir`
 * (kept if already there). Keys are made at test time and never leave the temporary directory.
 */
export function generateTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const files = certificateFiles(dir);
  if (existsSync(files.certFile)) return files;
  const caKey = join(dir, 'ca.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  writeFileSync(
    ext,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const openssl = (args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (run.status !== 0) {
      throw new Error(
        `openssl ${args[0]} failed (is openssl installed?): ${run.stderr || run.error}`,
      );
    }
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...key,
    '-keyout',
    caKey,
    '-out',
    files.caFile,
    '-days',
    '2',
    '-subj',
    '/CN=tillbus test CA',
  ]);
  openssl(['req', ...key, '-keyout', files.keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    files.caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    files.certFile,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return files;
}

/** The run's certificates when vitest's global setup made them (TILLBUS_TEST_TLS_DIR), else undefined. */
export function runCertificates(): TestCertificates | undefined {
  const dir = process.env[TEST_TLS_DIR_VARIABLE];
  if (!dir) return undefined;
  const files = certificateFiles(dir);
  return existsSync(files.certFile) ? files : undefined;
}

function certificateFiles(dir: string): TestCertificates {
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
}
