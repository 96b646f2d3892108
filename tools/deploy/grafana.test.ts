import { describe, expect, it } from 'vitest';
import { allExpressions, dashboards } from './expressions';
import { metricNames, promtoolParse } from './promql';

describe('Grafana dashboards', () => {
  const all = dashboards();

  it('cover fleet health, EDC payments, order reconciliation, EasyCard sessions and golden signals', () => {
    expect([...all.keys()]).toEqual([
      'easycard-sessions.json',
      'edc-payments.json',
      'fleet-health.json',
      'order-reconciliation.json',
      'service-golden-signals.json',
    ]);
    const uids = [...all.values()].map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const d of all.values()) {
      expect(d.title).toMatch(/^tillbus \/ /);
      expect(d.tags).toContain('tillbus');
    }
  });

  it('query Prometheus through the datasource variable only', () => {
    for (const [file, d] of all) {
      expect(d.templating.list.find((v) => v.name === 'datasource')?.type, file).toBe('datasource');
      for (const panel of d.panels.filter((p) => p.type !== 'row')) {
        expect(panel.datasource?.uid, `${file}: ${panel.title}`).toBe('${datasource}');
        expect(panel.targets?.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        for (const target of panel.targets ?? [])
          expect(target.datasource?.uid).toBe('${datasource}');
      }
    }
  });

  it('lay out panels on the 24-column grid without overlaps', () => {
    for (const [file, d] of all) {
      const cells = new Set<string>();
      for (const { gridPos, title } of d.panels) {
        expect(gridPos.x + gridPos.w, `${file}: ${title}`).toBeLessThanOrEqual(24);
        for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
          for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
            const cell = `${x},${y}`;
            expect(cells.has(cell), `${file}: ${title} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
        }
      }
    }
  });
});

describe('every PromQL expression in the rules and dashboards', () => {
  const expressions = allExpressions();

  it('parses (promtool)', () => {
    expect(expressions.length).toBeGreaterThan(80);
    const result = promtoolParse(expressions.map((e) => e.expr));
    if (!result.ok) {
      const bad = /tillbus:expression:(\d+)/.exec(result.output)?.[1];
      throw new Error(
        `${bad !== undefined ? expressions[Number(bad)].source : 'an expression'} does not parse:\n${result.output}`,
      );
    }
  });

  it('names metrics a reader can check: tillbus, Node.js process and scrape-health ones only', () => {
    for (const { source, expr } of expressions) {
      const names = metricNames(expr);
      expect(names.length, source).toBeGreaterThan(0);
      for (const name of names) {
        expect(name, source).toMatch(/^(tillbus_\w+|process_\w+|nodejs_\w+|up)$/);
      }
    }
  });
});
