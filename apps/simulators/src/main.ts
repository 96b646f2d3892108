/**
 * `node apps/simulators/dist/main.js <simulator> [options]` starts one simulator. Each simulator lives in its own
 * folder and exports `main(argv)` from its `cli.ts`; `--help` after a name prints that simulator's options.
 */
const SIMULATORS: Record<string, { module: string; what: string }> = {
  'antom-fleet': {
    module: './antom/cli',
    what: 'Antom D-Store terminals (POST /v2/device/diagnosis)',
  },
  'adyen-fleet': {
    module: './adyen/cli',
    what: 'Adyen terminals on the local Terminal API (Nexo-encrypted)',
  },
  dstore: {
    module: './dstore/cli',
    what: 'the D-Store cloud: calls the POS edge, receives notifyOrderChange',
  },
  'kicc-bridge': {
    module: './kicc/cli',
    what: 'KICC bridges with their EDC devices, over the bus',
  },
  intella: { module: './intella/cli', what: 'intella Scan2Pay (DeviceQuery, SignOn, Settlement)' },
};

function usage(): string {
  const names = Object.entries(SIMULATORS)
    .map(([name, { what }]) => `  ${name.padEnd(12)} ${what}`)
    .join('\n');
  return `usage: simulators <name> [options]   (simulators <name> --help for its options)\n\n${names}\n`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const entry = name ? SIMULATORS[name] : undefined;
  if (!entry) {
    process.stderr.write(
      name && name !== '--help' ? `unknown simulator "${name}"\n\n${usage()}` : usage(),
    );
    process.exitCode = name === '--help' ? 0 : 2;
    return;
  }
  const simulator = (await import(entry.module)) as { main(argv: string[]): Promise<void> };
  await simulator.main(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
