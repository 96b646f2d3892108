/**
 * Runs the work queued during one event-loop turn together, in one synchronous pass (at setImmediate). The
 * JetStream requests that work issues (the replay-guard write, the order read) are then buffered by nats.js in
 * the same microtask and leave in a single socket write, instead of one write per HTTP request: on a loaded host a
 * loopback write costs more than the request's signature check. The wait is one turn of the loop.
 */
export class TurnBatch {
  private queue: Array<() => void> = [];

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.drain());
      this.queue.push(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private drain(): void {
    const batch = this.queue;
    this.queue = [];
    for (const item of batch) item();
  }
}
