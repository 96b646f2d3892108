/** What a parser keeps of a message: everything but an own `__proto__` key, which no copy may turn into a prototype. */
export function withoutProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutProtoKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key !== '__proto__') out[key] = withoutProtoKeys(inner);
  }
  return out;
}
