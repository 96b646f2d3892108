/**
 * The base of each vendor protocol lib's named error: a stable code from that lib's table, a message for a
 * person, and structured details (field paths, never values). Services can catch every protocol failure by
 * this one type and still branch on the vendor error's class.
 */
export abstract class ProtocolError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}
