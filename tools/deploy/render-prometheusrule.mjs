#!/usr/bin/env node
/**
 * Writes deploy/prometheus/prometheusrule.yaml (the Prometheus Operator object) from the plain rules file that
 * promtool checks and tests, so the two can never disagree:
 *
 *   node tools/deploy/render-prometheusrule.mjs          write it
 *   node tools/deploy/render-prometheusrule.mjs --check  exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { parse, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RULES = join(ROOT, 'deploy/prometheus/rules/tillbus-alerts.yaml');
export const TARGET = join(ROOT, 'deploy/prometheus/prometheusrule.yaml');

/** The PrometheusRule text, formatted as the repository's Prettier would (so `format:check` agrees). */
export async function renderPrometheusRule() {
  const { groups } = parse(readFileSync(RULES, 'utf8'));
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tillbus-alerts', labels: { 'app.kubernetes.io/part-of': 'tillbus' } },
    spec: { groups },
  };
  const text =
    '# Generated from rules/tillbus-alerts.yaml by tools/deploy/render-prometheusrule.mjs: edit that file, not this.\n' +
    stringify(object, { lineWidth: 0 });
  const options = (await prettier.resolveConfig(TARGET)) ?? {};
  return prettier.format(text, { ...options, filepath: TARGET });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await renderPrometheusRule();
  if (process.argv.includes('--check')) {
    if (readFileSync(TARGET, 'utf8') !== text) {
      process.stderr.write(`${TARGET} is stale: run node tools/deploy/render-prometheusrule.mjs\n`);
      process.exit(1);
    }
  } else {
    writeFileSync(TARGET, text);
  }
}
