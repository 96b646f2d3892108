import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * A secret is configured by reference, never by value, so configuration, KV entries and logs can hold the
 * reference safely:
 * - `env:NAME` reads the environment variable NAME;
 * - `file:/path` reads a file (a mounted Kubernetes secret), trimmed of one trailing newline;
 * - a bare `name` reads `<secretsDir>/name` (the default mount, `/var/run/secrets/tillbus`).
 */
export const SECRET_REF =
  /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/[^\0]+|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
export const DEFAULT_SECRETS_DIR = '/var/run/secrets/tillbus';

export class SecretError extends Error {
  override readonly name = 'SecretError';
  readonly code = 'CONFIG_ERROR';
}

export function isSecretRef(value: string): boolean {
  return SECRET_REF.test(value) && !value.includes('..');
}

export interface SecretSource {
  env?: Record<string, string | undefined>;
  secretsDir?: string;
}

/**
 * Resolves secret references. Reads happen on every call so a rotated mounted secret is picked up without a
 * restart; errors name the reference and never the value.
 */
export class SecretResolver {
  private readonly env: Record<string, string | undefined>;
  private readonly secretsDir: string;

  constructor(source: SecretSource = {}) {
    this.env = source.env ?? process.env;
    this.secretsDir = source.secretsDir ?? this.env['SECRETS_DIR'] ?? DEFAULT_SECRETS_DIR;
  }

  resolve(ref: string): string {
    if (!isSecretRef(ref)) {
      throw new SecretError(
        `"${ref.slice(0, 60)}" is not a secret reference: use env:NAME, file:/absolute/path or a bare name under ${this.secretsDir}`,
      );
    }
    if (ref.startsWith('env:')) {
      const name = ref.slice(4);
      const value = this.env[name];
      if (value === undefined || value === '') {
        throw new SecretError(`secret ${ref}: environment variable ${name} is not set`);
      }
      return value;
    }
    const path = ref.startsWith('file:') ? ref.slice(5) : join(this.secretsDir, ref);
    if (!isAbsolute(path)) throw new SecretError(`secret ${ref}: the path must be absolute`);
    let value: string;
    try {
      value = readFileSync(path, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new SecretError(`secret ${ref}: cannot read ${path} (${reason})`);
    }
    value = value.replace(/\r?\n$/, '');
    if (value === '') throw new SecretError(`secret ${ref}: ${path} is empty`);
    return value;
  }

  /** Resolves a reference and reports failure as a value, for health checks that must not throw. */
  tryResolve(ref: string): { ok: true; value: string } | { ok: false; message: string } {
    try {
      return { ok: true, value: this.resolve(ref) };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  }
}
