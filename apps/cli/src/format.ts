/** Output for people: aligned tables and "key: value" blocks, no colours (pipes and logs stay clean). */

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | readonly string[] | null | undefined;
  /** Right-align (numbers). */
  right?: boolean;
}

export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** `key: value` lines with the keys aligned; undefined values are left out. */
export function block(entries: readonly [string, unknown][]): string {
  const shown = entries.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${cellText(v)}`).join('\n');
}

export function cellText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cellText).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/[\r\n\t]+/g, ' ');
}

/** "12 s ago", "in 3 h 20 min": how far a time is from now. */
export function relative(at: string | number | null | undefined, now: number): string {
  if (at === null || at === undefined || at === '') return '-';
  const t = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(t)) return String(at);
  const delta = t - now;
  const text = duration(Math.abs(delta));
  return delta <= 0 ? `${text} ago` : `in ${text}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Minor units to a readable amount: KRW has no minor unit, most currencies have two. */
export function money(value: string | number | undefined, currency: string | undefined): string {
  if (value === undefined || value === null || value === '') return '-';
  const digits = ZERO_DECIMAL.has(currency ?? '') ? 0 : 2;
  const n = Number(value);
  if (!Number.isFinite(n)) return `${value} ${currency ?? ''}`.trim();
  const major = digits === 0 ? n : n / 10 ** digits;
  return `${major.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency ?? ''}`.trim();
}

const ZERO_DECIMAL = new Set(['KRW', 'JPY', 'VND', 'CLP', 'ISK']);
