import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPromtool, PROMTOOL_HINT } from '@tillbus/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY, operationsAnchors } from './manifests';
import { renderPrometheusRule } from './render-prometheusrule.mjs';

const RULES = join(DEPLOY, 'prometheus/rules/tillbus-alerts.yaml');
const TESTS = join(DEPLOY, 'prometheus/tests/tillbus-alerts.test.yaml');
/** What the rules file says before the site settings replace the part before '#'. */
const RUNBOOK_PLACEHOLDER = 'https://runbooks.set-by-site-settings.invalid/docs/operations.md';

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
        'TillbusEdcSettlementConflict',
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

  it('each have a severity and a runbook_url whose anchor is a section of docs/operations.md', () => {
    const headings = operationsAnchors();
    for (const alert of alerts) {
      expect(['warning', 'critical']).toContain(alert.labels?.severity);
      expect(alert.annotations, alert.alert).not.toHaveProperty('runbook');
      const url = new URL(alert.annotations?.runbook_url ?? 'missing:');
      // The site settings replace the host part (deploy/k8s/components/site); the document and anchor stay.
      expect(`${url.origin}${url.pathname}`).toBe(RUNBOOK_PLACEHOLDER);
      expect(url.hash).toBe(`#${alert.alert!.toLowerCase()}`);
      expect(headings, `${alert.alert} runbook heading`).toContain(url.hash.slice(1));
    }
  });

  it('are each tested in two namespaces at once, firing in one and quiet in the other', () => {
    const cases = (
      parse(readFileSync(TESTS, 'utf8')) as {
        tests: {
          input_series: { series: string }[];
          alert_rule_test?: {
            alertname: string;
            exp_alerts?: { exp_labels?: Record<string, string> }[];
          }[];
        }[];
      }
    ).tests;
    const separated = new Set<string>();
    for (const test of cases) {
      const namespaces = new Set(
        test.input_series.map((s) => /namespace="([^"]+)"/.exec(s.series)?.[1] ?? ''),
      );
      if (namespaces.size < 2 || namespaces.has('')) continue;
      for (const rule of test.alert_rule_test ?? []) {
        // Alerts that differ only by namespace are the same alert seen from two namespaces.
        const firing = new Map<string, Set<string>>();
        for (const { exp_labels: { namespace = '', ...rest } = {} } of rule.exp_alerts ?? []) {
          const key = JSON.stringify(Object.entries(rest).sort());
          firing.set(key, (firing.get(key) ?? new Set()).add(namespace));
        }
        const oneOnly = [...firing.values()].some(
          (fired) => fired.size === 1 && namespaces.has([...fired][0]),
        );
        if (oneOnly) separated.add(rule.alertname);
      }
    }
    expect([...separated].sort()).toEqual([...alertNames].sort());
  });

  it('are what the PrometheusRule object carries (render-prometheusrule.mjs)', async () => {
    const committed = readFileSync(join(DEPLOY, 'prometheus/prometheusrule.yaml'), 'utf8');
    expect(committed).toBe(await renderPrometheusRule());
  });
});
