import type { CommandSpec } from '../cli';

/** The KICC bridge simulator's control subject (apps/simulators/src/kicc/simulator.ts, KICC_SIM_CONTROL_SUBJECT). */
export const SIMULATOR_CONTROL_SUBJECT = 'tillbus.sim.kicc-bridge.control';

/** Resolved at run time from this file, in the build (dist/) and from the sources alike. */
const CERTIFIER = './bridge-certify';

export const BRIDGE_CERTIFY_COMMAND: CommandSpec = {
  group: 'bridge',
  verb: 'certify',
  args: [],
  options: {
    device: { type: 'string', description: 'the test device the bridge drives (required)' },
    bridge: {
      type: 'string',
      description: 'the bridge id (its heartbeat subject); needed with the certification NATS user',
    },
    outage: {
      type: 'boolean',
      description: 'run the optional outage step: you take the stream away and back when asked',
    },
    simulator: {
      type: 'boolean',
      description:
        'the device is the KICC bridge simulator: drive its card reads instead of a person',
    },
    'control-subject': {
      type: 'string',
      description: `the simulator's control subject (default ${SIMULATOR_CONTROL_SUBJECT})`,
    },
  },
  summary: 'check a KICC bridge against docs/bridge-protocol.md, one PASS/FAIL line per rule',
  help:
    'Drives the bridge of a test device through every flow of the protocol, as edc-command would, and prints\n' +
    'one line per check with its evidence. Exit code 0 only when every check passes. Where a person is needed\n' +
    'at the terminal (a card, a signature) it says so and counts down. Use a test device and test cards:\n' +
    'the Purchases are real payments on that device, each cancelled or refunded by the run.\n' +
    'Example: tillbus bridge certify --device cert0001-edc1 --bridge cert0001',
  // The certifier loads the KICC reference codec (class-validator): only when it runs, never for --help.
  run: async (ctx, input) => {
    const certify = (await import(CERTIFIER)) as typeof import('./bridge-certify/index.js');
    return certify.runCertifyCommand(ctx, input);
  },
};
