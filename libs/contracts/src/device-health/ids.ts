/** Our id for a terminal: a subject token and a KV key, so only these characters. */
export const TERMINAL_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
