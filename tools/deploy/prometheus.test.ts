import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPromtool, PROMTOOL_HINT } from '@tillbus/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY, ROOT } from './manifests';
import { renderPrometheusRule } from './render-prometheusrule.mjs';

const RULES = join(DEPLOY, 'prometheus/rules/tillbus-alerts.yaml');
const TESTS = join(DEPLOY, 'prometheus/tests/tillbus-alerts.test.yaml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] })
  .groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert);
const alertNames = [...new Set(alerts.map((a) => a.alert!))];

function promtool(...args: string[]) {
  const binary = findPromtool();
  if (!binary) throw new Error(PROMTOOL_HINT);
  const run = spawnSync(binary, args, { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** GitHub's anchor for a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('Prometheus alerts', () => {
  it('pass promtool check rules', () => {
    const check = promtool('check', 'rules', RULES);
    expect(check.output).toContain('SUCCESS');
    expect(check.ok).toBe(true);
  });

  it('pass their promtool unit tests', () => {
    const test = promtool('test', 'rules', TESTS);
    expect(test.output).toContain('SUCCESS');
    expect(test.ok).toBe(true);
  });

  it('cover what the SREs asked for', () => {
    expect(alertNames).toEqual(
      expect.arrayContaining([
        'TillbusTerminalsNotReady',
        'TillbusTerminalTampered',
        'TillbusEdcCommandsInDoubt',
        'TillbusEasyCardSessionExpiring',
        'TillbusEasyCardSessionExpired',
        'TillbusDStoreNotificationsDeadLettered',
        'TillbusDStoreInquiriesAnsweredU',
        'TillbusServiceDown',
        'TillbusServiceAbsent',
        'TillbusServiceNotReady',
        'TillbusNatsDisconnected',
      ]),
    );
  });

  it('are each tested firing and not firing', () => {
    const tests = (
      parse(readFileSync(TESTS, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of alertNames) {
      const cases = tests.filter((t) => t.alertname === name);
      expect(
        cases.some((t) => (t.exp_alerts ?? []).length > 0),
        `${name} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((t) => (t.exp_alerts ?? []).length === 0),
        `${name} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('each have a severity and a runbook section in docs/operations.md', () => {
    const headings = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
      .split('\n')
      .filter((l) => /^#{2,4} /.test(l))
      .map((l) => anchor(l.replace(/^#+ /, '')));
    for (const alert of alerts) {
      expect(['warning', 'critical']).toContain(alert.labels?.severity);
      const runbook = alert.annotations?.runbook ?? '';
      expect(runbook).toBe(`docs/operations.md#${alert.alert!.toLowerCase()}`);
      expect(headings, `${alert.alert} runbook heading`).toContain(runbook.split('#')[1]);
    }
  });

  it('are what the PrometheusRule object carries (render-prometheusrule.mjs)', async () => {
    const committed = readFileSync(join(DEPLOY, 'prometheus/prometheusrule.yaml'), 'utf8');
    expect(committed).toBe(await renderPrometheusRule());
  });
});
