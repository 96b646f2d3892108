import { readFileSync } from 'node:fs';
import { describeViolations, validatePlain, type Violation } from '@tillbus/validation';
import { parse as parseYaml } from 'yaml';
import { TerminalDto } from './terminal.dto';

export class SeedError extends Error {
  override readonly name = 'SeedError';
  constructor(
    message: string,
    readonly violations: Violation[] = [],
  ) {
    super(message);
  }
}

/**
 * Reads the registry seed: YAML or JSON, either `{terminals: [...]}` or a bare list. Every entry is validated as
 * the bus validates an upsert; all problems are reported at once, each naming `terminals[i].<field>`.
 */
export function parseSeed(text: string, source: string): TerminalDto[] {
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    document = parseYaml(text, { maxAliasCount: 100, logLevel: 'error' });
  } catch (error) {
    throw new SeedError(
      `${source}: not valid YAML or JSON (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const list = Array.isArray(document)
    ? document
    : document !== null &&
        typeof document === 'object' &&
        Array.isArray((document as { terminals?: unknown }).terminals)
      ? (document as { terminals: unknown[] }).terminals
      : undefined;
  if (!list) throw new SeedError(`${source}: expected {terminals: [...]} or a list of terminals`);
  const violations: Violation[] = [];
  const terminals: TerminalDto[] = [];
  const ids = new Map<string, number>();
  list.forEach((entry, i) => {
    const result = validatePlain(TerminalDto, entry, { root: `terminals[${i}]` });
    if (!result.ok) {
      violations.push(...result.violations);
      return;
    }
    const first = ids.get(result.value.terminalId);
    if (first !== undefined) {
      violations.push({
        field: `terminals[${i}].terminalId`,
        problems: [`${result.value.terminalId} is already used by terminals[${first}]`],
      });
      return;
    }
    ids.set(result.value.terminalId, i);
    terminals.push(result.value);
  });
  if (violations.length > 0) {
    throw new SeedError(`${source}: ${describeViolations(violations)}`, violations);
  }
  return terminals;
}

export function readSeedFile(path: string): TerminalDto[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SeedError(
      `TERMINALS_FILE ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseSeed(text, `TERMINALS_FILE ${path}`);
}
