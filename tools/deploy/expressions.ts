import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEPLOY } from './manifests';
import { substituteGrafanaVariables } from './promql';

export const DASHBOARDS = join(DEPLOY, 'grafana/dashboards');
export const ALERT_RULES = join(DEPLOY, 'prometheus/rules/tillbus-alerts.yaml');

export interface Expression {
  /** Where it comes from: `<file>: <alert or panel title>`. */
  source: string;
  expr: string;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  panels: GrafanaPanel[];
  templating: {
    list: { name: string; type: string; query?: string | { query: string }; definition?: string }[];
  };
}

export function dashboards(): Map<string, GrafanaDashboard> {
  const out = new Map<string, GrafanaDashboard>();
  for (const file of readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    out.set(file, JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as GrafanaDashboard);
  }
  return out;
}

/** Every PromQL expression of the alert rules and the dashboards (panel targets and variable queries). */
export function allExpressions(): Expression[] {
  const out: Expression[] = [];
  const rules = parse(readFileSync(ALERT_RULES, 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  for (const rule of rules.groups.flatMap((g) => g.rules)) {
    out.push({ source: `alert ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  for (const [file, dashboard] of dashboards()) {
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        out.push({
          source: `${file}: ${panel.title} (${target.refId})`,
          expr: substituteGrafanaVariables(target.expr),
        });
      }
    }
    for (const variable of dashboard.templating.list) {
      if (variable.type !== 'query') continue;
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      // label_values(<series selector>, <label>) is Grafana's; the selector inside is PromQL.
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(query ?? '')?.[1];
      if (!selector)
        throw new Error(`${file}: variable ${variable.name} is not a label_values() query`);
      out.push({ source: `${file}: variable ${variable.name}`, expr: selector });
    }
  }
  return out;
}
