import { spawnSync } from 'node:child_process';

export const PROMTOOL_HINT =
  'promtool was not found: install it with `apt-get install prometheus` (Debian/Ubuntu) or from the Prometheus release.';

export function findPromtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** Runs `promtool check metrics` on an exposition text; returns its complaints (empty when clean). */
export function promtoolCheckMetrics(exposition: string): { ok: boolean; output: string } {
  const promtool = findPromtool();
  if (!promtool) throw new Error(PROMTOOL_HINT);
  const run = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}`.trim() };
}
