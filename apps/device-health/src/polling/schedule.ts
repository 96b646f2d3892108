import { createHash } from 'node:crypto';

/**
 * Where in each interval a terminal is diagnosed: a stable hash of its id, spread evenly over the interval. Every
 * replica computes the same offset, so they all aim at the same moment and the claim decides who goes.
 */
export function slotOffset(terminalId: string, intervalMs: number): number {
  const digest = createHash('sha256').update(terminalId).digest();
  // 48 bits: uniform enough, and exact in a double.
  return Math.floor((digest.readUIntBE(0, 6) / 2 ** 48) * intervalMs);
}

export interface Slot {
  terminalId: string;
  /** Interval index: floor(time / interval). */
  interval: number;
  /** When the slot is due. */
  at: number;
}

/** Terminals sorted by offset: what the scheduler walks. */
export class SlotPlan {
  private readonly offsets: number[];
  private readonly ids: string[];

  constructor(
    terminalIds: Iterable<string>,
    readonly intervalMs: number,
  ) {
    const sorted = [...terminalIds]
      .map((id) => ({ id, offset: slotOffset(id, intervalMs) }))
      .sort((a, b) => a.offset - b.offset || a.id.localeCompare(b.id));
    this.offsets = sorted.map((s) => s.offset);
    this.ids = sorted.map((s) => s.id);
  }

  get size(): number {
    return this.ids.length;
  }

  /**
   * Every slot due in (fromExclusive, toInclusive], in time order. A window longer than one interval is cut to its
   * last interval: a replica that stalled does not stampede through slots long past.
   */
  *due(fromExclusive: number, toInclusive: number): Generator<Slot> {
    const I = this.intervalMs;
    const from = Math.max(fromExclusive, toInclusive - I);
    if (toInclusive <= from || this.ids.length === 0) return;
    for (let k = Math.floor(from / I); k <= Math.floor(toInclusive / I); k++) {
      const base = k * I;
      // Offsets in (from - base, to - base], within [0, I).
      const start = upperBound(this.offsets, from - base);
      for (let i = start; i < this.offsets.length && this.offsets[i] <= toInclusive - base; i++) {
        yield { terminalId: this.ids[i], interval: k, at: base + this.offsets[i] };
      }
    }
  }
}

/** First index whose value is greater than `value`. */
function upperBound(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The claim key of a (terminal, interval); the interval length is in it so replicas of another setting never meet. */
export function claimKey(intervalMs: number, terminalId: string, interval: number): string {
  return `${intervalMs}.${terminalId}.${interval}`;
}
