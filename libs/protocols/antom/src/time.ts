import { AntomProtocolError } from './errors';

/** Terminal docs show ISO-8601 with millis and offset; the official SDKs send epoch milliseconds. */
export type AntomTimeFormat = 'epoch-millis' | 'iso';

export interface FormatTimeOptions {
  format?: AntomTimeFormat;
  /** Offset written into an ISO time, in minutes east of UTC (Antom's samples use +08:00). */
  offsetMinutes?: number;
}

const MAX_OFFSET_MINUTES = 23 * 60 + 59;
// 9999-12-31T00:00:00Z: any offset still yields a four-digit year.
const MAX_EPOCH_MS = 253_402_214_400_000;
const EPOCH_MILLIS = /^[0-9]{1,15}$/;
const ISO_WITH_OFFSET =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:?[0-9]{2})$/;

/** The value for a Request-Time or Response-Time header. */
export function formatRequestTime(epochMs: number, options: FormatTimeOptions = {}): string {
  if (!Number.isInteger(epochMs) || epochMs < 0 || epochMs > MAX_EPOCH_MS) {
    throw new AntomProtocolError(
      'INVALID_ARGUMENT',
      'time must be an integer epoch-milliseconds value from 1970 to 9999',
    );
  }
  if ((options.format ?? 'epoch-millis') === 'epoch-millis') return String(epochMs);
  const offset = options.offsetMinutes ?? 0;
  if (!Number.isInteger(offset) || Math.abs(offset) > MAX_OFFSET_MINUTES) {
    throw new AntomProtocolError(
      'INVALID_ARGUMENT',
      'offsetMinutes must be an integer within +-23:59',
    );
  }
  const local = new Date(epochMs + offset * 60_000).toISOString().slice(0, -1);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** Epoch milliseconds of a Request-Time / Response-Time header value. */
export function parseRequestTime(text: unknown): number {
  if (typeof text !== 'string') throw badTime();
  if (EPOCH_MILLIS.test(text)) return Number(text);
  const m = ISO_WITH_OFFSET.exec(text);
  if (m === null) throw badTime();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) throw badTime();
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  )
    throw badTime();
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutesOf(m[8]) * 60_000;
}

function offsetMinutesOf(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (minutes > 59) throw badTime();
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function badTime(): AntomProtocolError {
  return new AntomProtocolError('BAD_TIME_FORMAT');
}
