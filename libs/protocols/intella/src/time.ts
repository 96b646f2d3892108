import { IntellaProtocolError } from './errors';

const TAIWAN_OFFSET_MS = 8 * 60 * 60 * 1000;
const INTELLA_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/**
 * `yyyyMMddHHmmss` in Taiwan time (UTC+8, no daylight saving). Computed from the epoch with UTC getters so the
 * machine's time zone never leaks in.
 */
export function formatCreateTime(date: Date): string {
  const epoch = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(epoch)) throw new IntellaProtocolError('INVALID_TIME', 'not a valid date');
  const taiwan = new Date(epoch + TAIWAN_OFFSET_MS);
  const year = taiwan.getUTCFullYear();
  if (year < 0 || year > 9999)
    throw new IntellaProtocolError('INVALID_TIME', 'year outside 0000-9999');
  return (
    pad(year, 4) +
    pad(taiwan.getUTCMonth() + 1, 2) +
    pad(taiwan.getUTCDate(), 2) +
    pad(taiwan.getUTCHours(), 2) +
    pad(taiwan.getUTCMinutes(), 2) +
    pad(taiwan.getUTCSeconds(), 2)
  );
}

/** Reads a CreateTime/ResponseTime (Taiwan time) back into an instant; refuses impossible dates such as 0230. */
export function parseIntellaTime(text: unknown): Date {
  const match = typeof text === 'string' ? INTELLA_TIME.exec(text) : null;
  if (!match) throw new IntellaProtocolError('INVALID_TIME', 'expected yyyyMMddHHmmss');
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, 0);
  const valid =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second;
  if (!valid) throw new IntellaProtocolError('INVALID_TIME', 'no such date or time');
  return new Date(utc.getTime() - TAIWAN_OFFSET_MS);
}
