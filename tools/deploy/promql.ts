import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPromtool, PROMTOOL_HINT } from '@tillbus/testing';
import { stringify } from 'yaml';

/** Words that are PromQL syntax, not metric names, when they are not followed by `(`. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'atan2',
  'inf',
  'nan',
  // aggregations written `sum by (x) (...)`: the name is followed by `by`, not `(`
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Grafana's built-in interval variables, as Prometheus would see them after Grafana substitutes them. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{(\w+)(:\w+)?\}|\$(\w+)/g, '.*');
}

/**
 * The metric names a PromQL expression selects. Label matchers, strings, grouping clauses, ranges, offsets and
 * function names are not metric names; `{__name__="x"}` is. A regex on `__name__` is refused: its names cannot be
 * checked.
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let text = expr.replace(/#[^\n]*/g, ' ');
  for (const match of text.matchAll(/__name__\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
    if (match[1] !== '=')
      throw new Error(`cannot check metric names selected by __name__${match[1]}`);
    names.add(match[2]);
  }
  text = text
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[0-9a-z]+/g, ' ')
    .replace(/@\s*(start\(\)|end\(\)|[0-9.]+)/g, ' ');
  const token = /0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (const match of text.matchAll(token)) {
    const word = match[0];
    if (!/^[a-zA-Z_:]/.test(word)) continue;
    const rest = text.slice(match.index! + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** The label names each selector of an expression matches on, by metric (`x{a="1", b=~"2"}` → x: a, b). */
export function selectorLabels(expr: string): { metric: string; label: string }[] {
  const out: { metric: string; label: string }[] = [];
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const match of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}/g)) {
    for (const label of match[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      if (label[1] !== '__name__') out.push({ metric: match[1], label: label[1] });
    }
  }
  return out;
}

/** The label names that appear on each metric's samples in an exposition. */
export function sampleLabels(exposition: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of exposition.split('\n')) {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s/.exec(line);
    if (!sample) continue;
    const labels = out.get(sample[1]) ?? new Set<string>();
    for (const label of sample[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(label[1]);
    out.set(sample[1], labels);
  }
  return out;
}

/** The names a Prometheus text exposition makes queryable: samples, and the series of every declared metric. */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      else if (kind === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
      else names.add(name);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** `promtool check rules` on every expression (each as a recording rule): the problems, by expression. */
export function promtoolParse(exprs: string[]): { ok: boolean; output: string } {
  const promtool = findPromtool();
  if (!promtool) throw new Error(PROMTOOL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-promql-'));
  try {
    const file = join(dir, 'exprs.yaml');
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'expressions',
            rules: exprs.map((expr, i) => ({ record: `tillbus:expression:${i}`, expr })),
          },
        ],
      }),
    );
    const run = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
