import type { DStoreFaults } from './faults';
import { BuyerViews } from './orders';

export interface ReceivedNotification {
  at: string;
  requestId?: string;
  requestOrderId?: string;
  orderStatus?: string;
  /** The signature (and Client-Id) verified. */
  verified: boolean;
  /** Why it was refused, when it was. */
  reason?: string;
  /** `S`, `F:<CODE>`, `U:<CODE>`, `DROP`, or `S (held)` while an answer is held. */
  answer: string;
  /** Its requestId had been applied before: no new effect. */
  duplicate: boolean;
}

export interface AppliedEffect {
  requestId: string;
  requestOrderId: string;
  /** Only what the notification changed. */
  orderStatus?: string;
  shortOrderNumber?: string;
  deliveryStatus?: string;
  refundAmount?: { value: number; currency: string };
  orderReadyTime?: string;
  at: string;
}

export interface DStoreCounters {
  received: number;
  verified: number;
  rejected: number;
  effects: number;
  duplicates: number;
  dropped: number;
  held: number;
  answeredU: number;
  answeredF: number;
  callsSent: number;
}

/**
 * What D-Store has seen and applied: the notifications it received, the effects (one per requestId), the order
 * status it believes, the buyers' views, its counters, and the answers a `hold` fault keeps back.
 */
export class DStoreState {
  readonly received: ReceivedNotification[] = [];
  readonly effects = new Map<string, AppliedEffect>();
  readonly beliefs = new Map<string, string>();
  readonly buyers = new BuyerViews();
  readonly counters: DStoreCounters = emptyCounters();
  private readonly held = new Set<() => void>();
  private readonly waiters = new Set<() => void>();

  /** Wakes whoever waits for a received notification to change (waitUntil). */
  changed(): void {
    this.waiters.forEach((wake) => wake());
  }

  /** Resolves when release() is called or the connection closes. */
  hold(onClose: (go: () => void) => void): Promise<void> {
    return new Promise<void>((release) => {
      const go = () => {
        this.held.delete(go);
        release();
      };
      this.held.add(go);
      onClose(go);
    });
  }

  /** Lets every held answer go; returns how many. */
  release(): number {
    const all = [...this.held];
    all.forEach((go) => go());
    return all.length;
  }

  waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  snapshot(faults: DStoreFaults) {
    return {
      faults,
      counters: this.counters,
      received: this.received.slice(-200),
      effects: [...this.effects.values()],
      beliefs: Object.fromEntries(this.beliefs),
      buyers: this.buyers.all(),
    };
  }

  reset(): void {
    this.received.length = 0;
    this.effects.clear();
    this.beliefs.clear();
    this.buyers.clear();
    Object.assign(this.counters, emptyCounters());
  }
}

function emptyCounters(): DStoreCounters {
  return {
    received: 0,
    verified: 0,
    rejected: 0,
    effects: 0,
    duplicates: 0,
    dropped: 0,
    held: 0,
    answeredU: 0,
    answeredF: 0,
    callsSent: 0,
  };
}
