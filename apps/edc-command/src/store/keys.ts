import { createHash } from 'node:crypto';
import { BUCKETS as DECLARED_BUCKETS, canonicalJson } from '@tillbus/messaging';

/** KV buckets of edc-command (`tillbus_<service>_<what>`), declared in libs/messaging declarations. */
export const BUCKETS = DECLARED_BUCKETS.edcCommand;

/**
 * KV keys allow `[-/_=.A-Za-z0-9]`. A requestId may hold `:` (it is a subject token) but never `=` or `.`, so
 * `:` → `=` is one to one.
 */
function kvToken(requestId: string): string {
  return requestId.replace(/:/g, '=');
}

/**
 * The idempotency key of a command: its requestId alone, whatever the device. Creating it (create-if-absent) is the
 * one moment a requestId becomes a command; a second device asking for the same requestId finds it taken.
 */
export function recordKey(requestId: string): string {
  return kvToken(requestId);
}

export function requestIdOfRecordKey(key: string): string {
  return key.replace(/=/g, ':');
}

/** An entry of the in-doubt index: operators look for the device first. */
export function inDoubtKey(deviceId: string, requestId: string): string {
  return `${deviceId}.${kvToken(requestId)}`;
}

/** A short stable hash, for ids derived from other ids. */
export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 20);
}

/** The same params always hash the same, whatever order the POS wrote them in. */
export function paramsHash(submission: unknown): string {
  return createHash('sha256').update(canonicalJson(submission)).digest('hex');
}
