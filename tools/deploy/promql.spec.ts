import { describe, expect, it } from 'vitest';
import {
  exposedNames,
  metricNames,
  promtoolParse,
  sampleLabels,
  selectorLabels,
  substituteGrafanaVariables,
} from './promql';

describe('metricNames', () => {
  it.each([
    ['up{job="edc-command"} == 0', ['up']],
    ['tillbus_edc_command_in_doubt > 0', ['tillbus_edc_command_in_doubt']],
    [
      'histogram_quantile(0.99, sum by (le, command) (rate(tillbus_edc_command_duration_seconds_bucket[5m])))',
      ['tillbus_edc_command_duration_seconds_bucket'],
    ],
    [
      'sum without (instance) (rate(a_total{x=~"b|c", y!="d_total"}[5m] offset 1h)) / on (job) group_left (vendor) max(b)',
      ['a_total', 'b'],
    ],
    [
      'max by (vendor) (x{status!="READY"}) / max by (vendor) (sum by (vendor, instance) (x))',
      ['x'],
    ],
    ['sum(rate(x_total[5m:30s])) > 1e3 and bool y unless z', ['x_total', 'y', 'z']],
    ['# a comment naming not_a_metric\ncount({__name__="named_metric"})', ['named_metric']],
    ['absent_over_time(m[10m]) or vector(0)', ['m']],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', ['m']],
    ['min_over_time(tillbus:recorded:ratio[1h]) < 0.5', ['tillbus:recorded:ratio']],
  ])('%s', (expr, expected) => {
    expect(metricNames(expr)).toEqual(expected);
  });

  it('refuses a __name__ regex, whose names cannot be checked', () => {
    expect(() => metricNames('{__name__=~"tillbus_.*"}')).toThrow(/__name__=~/);
  });
});

describe('selectorLabels and sampleLabels', () => {
  it('pairs each matcher with its metric, ignoring label-like text inside strings', () => {
    expect(selectorLabels('sum(rate(a_total{x="b{c=1}", y!~"z"}[5m])) / b{job="j"} + c')).toEqual([
      { metric: 'a_total', label: 'x' },
      { metric: 'a_total', label: 'y' },
      { metric: 'b', label: 'job' },
    ]);
  });

  it('collects the labels that samples carry', () => {
    const labels = sampleLabels('# TYPE g gauge\ng{state="a",vendor="v"} 1\ng{state="b"} 2\nh 3\n');
    expect([...labels.get('g')!].sort()).toEqual(['state', 'vendor']);
    expect(labels.has('h')).toBe(false);
  });
});

describe('substituteGrafanaVariables', () => {
  it('turns interval variables into durations and other variables into match-all regexes', () => {
    expect(
      substituteGrafanaVariables(
        'rate(x{vendor=~"$vendor", job=~"${job:regex}"}[$__rate_interval])',
      ),
    ).toBe('rate(x{vendor=~".*", job=~".*"}[5m])');
  });
});

describe('exposedNames', () => {
  it('knows every series of declared metrics, with or without samples', () => {
    const names = exposedNames(
      [
        '# HELP h_seconds help',
        '# TYPE h_seconds histogram',
        '# HELP c_total help',
        '# TYPE c_total counter',
        'c_total{a="b"} 1',
        '# TYPE g gauge',
        'g 0',
        'nodejs_version_info{version="v20"} 1',
      ].join('\n'),
    );
    expect([...names].sort()).toEqual([
      'c_total',
      'g',
      'h_seconds_bucket',
      'h_seconds_count',
      'h_seconds_sum',
      'nodejs_version_info',
    ]);
  });
});

describe('promtoolParse', () => {
  it('accepts valid PromQL and names the broken expression', () => {
    expect(promtoolParse(['sum(rate(x_total[5m]))', 'up == 0']).ok).toBe(true);
    const broken = promtoolParse(['sum(rate(x_total[5m])', 'up == 0']);
    expect(broken.ok).toBe(false);
    expect(broken.output).toMatch(/tillbus:expression:0|parse/i);
  });
});
