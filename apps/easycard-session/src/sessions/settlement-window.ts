import { minutesOf } from '../config';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The daily Settlement window in local business time: [settleAt, closing). */
export interface SettlementWindow {
  /** Minutes after local midnight. */
  startMinutes: number;
  closeMinutes: number;
  /** The business time zone, minutes east of UTC. */
  offsetMinutes: number;
}

export function settlementWindow(
  settleAt: string,
  closing: string,
  offsetMinutes: number,
): SettlementWindow {
  return { startMinutes: minutesOf(settleAt), closeMinutes: minutesOf(closing), offsetMinutes };
}

/** yyyy-MM-dd of the business day an instant falls in. */
export function businessDay(epochMs: number, offsetMinutes: number): string {
  return new Date(epochMs + offsetMinutes * MINUTE).toISOString().slice(0, 10);
}

/** Local midnight of the business day an instant falls in, as an instant. */
function localMidnight(epochMs: number, offsetMinutes: number): number {
  const shifted = epochMs + offsetMinutes * MINUTE;
  return shifted - (((shifted % DAY) + DAY) % DAY) - offsetMinutes * MINUTE;
}

/** The instant today's window opens. */
export function windowStart(epochMs: number, window: SettlementWindow): number {
  return localMidnight(epochMs, window.offsetMinutes) + window.startMinutes * MINUTE;
}

export function windowClose(epochMs: number, window: SettlementWindow): number {
  return localMidnight(epochMs, window.offsetMinutes) + window.closeMinutes * MINUTE;
}

export function inSettlementWindow(epochMs: number, window: SettlementWindow): boolean {
  return epochMs >= windowStart(epochMs, window) && epochMs < windowClose(epochMs, window);
}
