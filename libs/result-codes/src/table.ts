/** True when `value` is one of the table's own keys: the guard behind every `isXCode()` in this lib. */
export function isTableKey<T extends object>(table: T, value: unknown): value is keyof T {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(table, value);
}
