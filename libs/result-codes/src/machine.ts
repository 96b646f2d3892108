/**
 * The shape every state machine in this lib has: one pure `transition(state, event)` function driven by a
 * table. A refused transition is a value, not an exception, so callers can record and count it.
 */
export type Transition<S> = { ok: true; state: S } | { ok: false; state: S; reason: string };

export function accept<S>(state: S): Transition<S> {
  return { ok: true, state };
}

export function refuse<S>(state: S, reason: string): Transition<S> {
  return { ok: false, state, reason };
}
