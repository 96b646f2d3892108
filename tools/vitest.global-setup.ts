import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestCertificates, TEST_TLS_DIR_VARIABLE } from '../libs/testing/src/tls';

/**
 * Every nats-server the tests start serves TLS only, with a certificate from a CA made here for this run. Node
 * reads NODE_EXTRA_CA_CERTS when a process starts, so the test workers and every process they spawn (services,
 * the CLI, simulators) trust that CA without a line of test code, and verify the server like production does.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-test-tls-'));
  const certificates = generateTestCertificates(dir);
  process.env[TEST_TLS_DIR_VARIABLE] = dir;
  process.env.NODE_EXTRA_CA_CERTS = certificates.caFile;
  return () => rmSync(dir, { recursive: true, force: true });
}
