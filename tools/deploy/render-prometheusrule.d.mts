// Types of render-prometheusrule.mjs (plain JavaScript, run with node).
export const RULES: string;
export const TARGET: string;
export function renderPrometheusRule(): Promise<string>;
