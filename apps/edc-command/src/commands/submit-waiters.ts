import { Injectable } from '@nestjs/common';

/** The submit-and-wait requests waiting in this replica, by record key: a write that ends their command wakes them. */
@Injectable()
export class SubmitWaiters {
  private readonly byKey = new Map<string, Set<() => void>>();

  /** Registers `wake` for `key`; the returned function unregisters it. */
  add(key: string, wake: () => void): () => void {
    const waiters = this.byKey.get(key) ?? new Set<() => void>();
    waiters.add(wake);
    this.byKey.set(key, waiters);
    return () => {
      waiters.delete(wake);
      if (waiters.size === 0) this.byKey.delete(key);
    };
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  wake(key: string): void {
    for (const wake of this.byKey.get(key) ?? []) wake();
  }
}
