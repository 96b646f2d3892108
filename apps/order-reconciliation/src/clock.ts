/** Every "now" in the service comes from here, so tests can move time instead of waiting for it. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => Date.now() };
