import type { ProvisioningSettings } from '@tillbus/messaging';
import type { CommandSpec } from '../cli';
import { CliError, EXIT, UsageError } from '../errors';

/**
 * The provisioning settings from the environment: the services' own settings of the same names (the Kubernetes
 * Job reads the services' ConfigMaps), each a whole number; unset ones take the services' defaults.
 */
export function provisioningSettingsFromEnv(
  env: Record<string, string | undefined>,
  defaults: ProvisioningSettings,
): ProvisioningSettings {
  const settings = { ...defaults };
  for (const name of Object.keys(defaults) as (keyof ProvisioningSettings)[]) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(`${name} must be a whole number above 0, not "${text}"`);
    }
    settings[name] = value;
  }
  if (![1, 3, 5].includes(settings.STREAM_REPLICAS)) {
    throw new UsageError('STREAM_REPLICAS must be 1, 3 or 5 (JetStream replicas)');
  }
  return settings;
}

export const PROVISION_COMMANDS: CommandSpec[] = [
  {
    group: 'provision',
    verb: '',
    args: [],
    options: {
      check: {
        type: 'boolean',
        description: 'only report what is missing (exit 1 when anything is); change nothing',
      },
    },
    summary:
      'create or update every tillbus stream, KV bucket and durable consumer (run as the provisioner user)',
    help: [
      'Applies libs/messaging declarations: the one definition of each stream, bucket and consumer. Safe to run',
      'again: existing ones are brought to the declared configuration, nothing is deleted. The settings are the',
      "services' own (STREAM_REPLICAS, EDC_RECORD_TTL_MS, ORDER_RETENTION_MS, ...), read from the environment.",
      'Production runs it as a Kubernetes Job with the `provisioner` NATS user; services only verify.',
    ].join('\n'),
    run: async (ctx, { options }) => {
      // The declarations live with the NATS wiring (libs/messaging), loaded only by this command: every other
      // command starts without it (apps/cli/test/module-graph.test.ts).
      const [messaging, { Kvm }] = await Promise.all([
        import('@tillbus/messaging'),
        import('@nats-io/kv'),
      ]);
      const { applyProvisioning, missingProvisioning, PROVISIONING_DEFAULTS, tillbusProvisioning } =
        messaging;
      const plan = tillbusProvisioning(provisioningSettingsFromEnv(ctx.env, PROVISIONING_DEFAULTS));
      const jsm = await ctx.bus.jetstreamManager();
      if (options.check === true) {
        const missing = await missingProvisioning(jsm, plan);
        return {
          data: { missing },
          text:
            missing.length === 0
              ? 'everything is provisioned'
              : `missing:\n  ${missing.join('\n  ')}`,
          ...(missing.length > 0
            ? {
                failure: {
                  code: 'NOT_PROVISIONED',
                  message: `${missing.length} declarations are missing; run \`tillbus provision\``,
                },
              }
            : {}),
        };
      }
      let applied: string[];
      try {
        applied = await applyProvisioning(jsm, new Kvm(await ctx.bus.connect()), plan);
      } catch (error) {
        throw new CliError(
          'PROVISIONING_FAILED',
          `provisioning stopped: ${(error as Error).message}`,
          EXIT.failed,
          'run it as the provisioner NATS user (NATS_USER=provisioner); `tillbus provision --check` lists what is missing',
        );
      }
      return {
        data: { applied },
        text: `provisioned ${applied.length} declarations:\n  ${applied.join('\n  ')}`,
      };
    },
  },
];
