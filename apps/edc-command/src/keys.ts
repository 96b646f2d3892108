import { createHash } from 'node:crypto';
import { BUCKETS as DECLARED_BUCKETS, canonicalJson } from '@tillbus/messaging';

/** KV buckets of edc-command (`tillbus_<service>_<what>`), declared in libs/messaging declarations. */
export const BUCKETS = DECLARED_BUCKETS.edcCommand;

/**
 * KV keys allow `[-/_=.A-Za-z0-9]`. A requestId may hold `:` (it is a subject token) but never `=`, so `:` → `=` is
 * one to one.
 */
export function recordKey(deviceId: string, requestId: string): string {
  return `${deviceId}.${requestId.replace(/:/g, '=')}`;
}

export function parseRecordKey(key: string): { deviceId: string; requestId: string } | null {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) return null;
  return { deviceId: key.slice(0, dot), requestId: key.slice(dot + 1).replace(/=/g, ':') };
}

/** A short stable hash, for ids derived from other ids. */
export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);
}

/** The same params always hash the same, whatever order the POS wrote them in. */
export function paramsHash(submission: unknown): string {
  return createHash('sha256').update(canonicalJson(submission)).digest('hex');
}
