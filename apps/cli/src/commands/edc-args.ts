import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors';

export function newRequestId(kind: string): string {
  return `cli-${kind}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function requestIdOf(
  options: Record<string, string | boolean | undefined>,
  kind: string,
): string {
  const given = options['request-id'];
  if (typeof given !== 'string') return newRequestId(kind);
  if (!/^[A-Za-z0-9_:-]{1,128}$/.test(given)) {
    throw new UsageError('--request-id must be 1-128 characters of A-Z a-z 0-9 _ : -');
  }
  return given;
}

export function waitOf(options: Record<string, string | boolean | undefined>): number {
  if (typeof options.wait !== 'string') return 200_000;
  const match = /^(\d+)(ms|s|m)?$/.exec(options.wait);
  if (!match) throw new UsageError('--wait must be a duration such as 90s or 3m');
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] ?? 'ms']!;
}

export function digits(text: string, what: string): string {
  if (!/^\d{1,15}$/.test(text)) {
    throw new UsageError(
      `${what} must be a whole amount in the currency's units, digits only (got "${text.slice(0, 20)}")`,
    );
  }
  return String(Number(text));
}

export function currencyOf(value: string | boolean | undefined): string {
  if (value === undefined) return 'KRW';
  if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) {
    throw new UsageError('--currency must be a 3-letter ISO code in capitals, such as KRW');
  }
  return value;
}

export function acquirerInfo(
  options: Record<string, string | boolean | undefined>,
): Record<string, string> {
  const pick = (option: string, env: string, demo: string) => {
    const value = options[option];
    return typeof value === 'string' ? value : (process.env[env] ?? demo);
  };
  return {
    acquirerTerminalId: pick('acquirer-terminal-id', 'TILLBUS_ACQUIRER_TERMINAL_ID', '0788888'),
    acquirerRegistrationNo: pick(
      'acquirer-registration-no',
      'TILLBUS_ACQUIRER_REGISTRATION_NO',
      '0216001234',
    ),
  };
}
