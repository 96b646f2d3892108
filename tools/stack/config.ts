import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { StackError } from './nats';

/** The demo configuration (demo/tillbus.demo.yaml), validated; every problem names its field. */
export interface DemoConfig {
  ports: {
    deviceHealth: { ops: number };
    orderReconciliation: { ops: number; http: number };
    edcCommand: { ops: number };
    easycardSession: { ops: number };
    antomFleet: number;
    adyenFleet: number;
    dstore: number;
    intella: number;
  };
  antom: { terminals: number; stores: number; faults: Record<string, Record<string, unknown>> };
  adyen: {
    terminals: number;
    mobile: number;
    stores: number;
    faults: Record<string, Record<string, unknown>>;
  };
  edc: { bridges: number; devicesPerBridge: number; timing: 'realistic' | 'fast' | 'instant' };
  easycard: {
    merchant: string;
    readers: number;
    /**
     * Demo and test only: intella and easycard-session share an accelerated clock (rate simulated ms per real
     * ms, from the stack's start) and an offset file (ms added, re-read when it changes) to jump time.
     */
    clock?: { rate: number; offsetFile?: string };
  };
  dstore: { clientId: string; posClientId: string };
  /** Extra environment per service, by service name. */
  services: Record<ServiceName, Record<string, string>>;
}

export const SERVICE_NAMES = [
  'device-health',
  'order-reconciliation',
  'edc-command',
  'easycard-session',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function loadDemoConfig(path: string): DemoConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new StackError(`cannot read the demo configuration ${path}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new StackError(`${path} is not valid YAML: ${(error as Error).message}`);
  }
  return parseDemoConfig(raw, path);
}

export function parseDemoConfig(raw: unknown, where = 'the demo configuration'): DemoConfig {
  const problems: string[] = [];
  const r = new Reader(problems);
  const root = r.object(raw, '');
  const ports = r.object(root.ports, 'ports');
  const svcPorts = (name: string, http = false) => {
    const o = r.object(ports[name], `ports.${name}`);
    return {
      ops: r.port(o.ops, `ports.${name}.ops`),
      ...(http ? { http: r.port(o.http, `ports.${name}.http`) } : {}),
    };
  };
  const antom = r.object(root.antom, 'antom');
  const adyen = r.object(root.adyen, 'adyen');
  const edc = r.object(root.edc, 'edc');
  const easycard = r.object(root.easycard, 'easycard');
  const dstore = r.object(root.dstore, 'dstore');
  const services = r.object(root.services ?? {}, 'services');
  const config: DemoConfig = {
    ports: {
      deviceHealth: svcPorts('device-health') as { ops: number },
      orderReconciliation: svcPorts('order-reconciliation', true) as { ops: number; http: number },
      edcCommand: svcPorts('edc-command') as { ops: number },
      easycardSession: svcPorts('easycard-session') as { ops: number },
      antomFleet: r.port(ports['antom-fleet'], 'ports.antom-fleet'),
      adyenFleet: r.port(ports['adyen-fleet'], 'ports.adyen-fleet'),
      dstore: r.port(ports.dstore, 'ports.dstore'),
      intella: r.port(ports.intella, 'ports.intella'),
    },
    antom: {
      terminals: r.int(antom.terminals, 'antom.terminals', 1, 10_000),
      stores: r.int(antom.stores ?? 1, 'antom.stores', 1, 1000),
      faults: r.faults(antom.faults, 'antom.faults'),
    },
    adyen: {
      terminals: r.int(adyen.terminals, 'adyen.terminals', 0, 10_000),
      mobile: r.int(adyen.mobile ?? 0, 'adyen.mobile', 0, 10_000),
      stores: r.int(adyen.stores ?? 1, 'adyen.stores', 1, 1000),
      faults: r.faults(adyen.faults, 'adyen.faults'),
    },
    edc: {
      bridges: r.int(edc.bridges, 'edc.bridges', 1, 1000),
      devicesPerBridge: r.int(edc.devicesPerBridge, 'edc.devicesPerBridge', 1, 64),
      timing: r.oneOf(edc.timing ?? 'realistic', 'edc.timing', ['realistic', 'fast', 'instant']),
    },
    easycard: {
      merchant: r.token(easycard.merchant, 'easycard.merchant'),
      readers: r.int(easycard.readers, 'easycard.readers', 1, 9999),
      ...(easycard.clock === undefined ? {} : { clock: r.clock(easycard.clock, 'easycard.clock') }),
    },
    dstore: {
      clientId: r.token(dstore.clientId, 'dstore.clientId'),
      posClientId: r.token(dstore.posClientId, 'dstore.posClientId'),
    },
    services: Object.fromEntries(
      SERVICE_NAMES.map((name) => [name, r.env(services[name], `services.${name}`)]),
    ) as DemoConfig['services'],
  };
  for (const key of Object.keys(services)) {
    if (!(SERVICE_NAMES as readonly string[]).includes(key)) {
      problems.push(`services.${key}: unknown service (use ${SERVICE_NAMES.join(', ')})`);
    }
  }
  const used = new Map<number, string>();
  const portList: [string, number][] = [
    ['ports.device-health.ops', config.ports.deviceHealth.ops],
    ['ports.order-reconciliation.ops', config.ports.orderReconciliation.ops],
    ['ports.order-reconciliation.http', config.ports.orderReconciliation.http],
    ['ports.edc-command.ops', config.ports.edcCommand.ops],
    ['ports.easycard-session.ops', config.ports.easycardSession.ops],
    ['ports.antom-fleet', config.ports.antomFleet],
    ['ports.adyen-fleet', config.ports.adyenFleet],
    ['ports.dstore', config.ports.dstore],
    ['ports.intella', config.ports.intella],
  ];
  for (const [field, port] of portList) {
    if (port && used.has(port)) problems.push(`${field}: port ${port} is also ${used.get(port)}`);
    used.set(port, field);
  }
  if (problems.length > 0) {
    throw new StackError(`${where} has problems:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}

class Reader {
  constructor(private readonly problems: string[]) {}

  object(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problems.push(`${field || 'the file'}: must be a mapping`);
      return {};
    }
    return value as Record<string, unknown>;
  }

  int(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${field}: must be a whole number from ${min} to ${max}`);
      return min;
    }
    return value;
  }

  port(value: unknown, field: string): number {
    return this.int(value, field, 1, 65535);
  }

  token(value: unknown, field: string): string {
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
      this.problems.push(`${field}: must be 1-64 letters, digits, _ or -`);
      return 'x';
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) {
      this.problems.push(`${field}: must be one of ${allowed.join(', ')}`);
      return allowed[0];
    }
    return value as T;
  }

  clock(value: unknown, field: string): { rate: number; offsetFile?: string } {
    const o = this.object(value, field);
    const rate = o.rate ?? 1;
    if (typeof rate !== 'number' || !(rate >= 0.001 && rate <= 1_000_000)) {
      this.problems.push(`${field}.rate: must be a number from 0.001 to 1000000`);
    }
    if (
      o.offsetFile !== undefined &&
      (typeof o.offsetFile !== 'string' || !o.offsetFile.startsWith('/'))
    ) {
      this.problems.push(`${field}.offsetFile: must be an absolute path`);
    }
    return {
      rate: typeof rate === 'number' ? rate : 1,
      ...(typeof o.offsetFile === 'string' ? { offsetFile: o.offsetFile } : {}),
    };
  }

  faults(value: unknown, field: string): Record<string, Record<string, unknown>> {
    if (value === undefined || value === null) return {};
    const o = this.object(value, field);
    for (const [id, f] of Object.entries(o)) this.object(f, `${field}.${id}`);
    return o as Record<string, Record<string, unknown>>;
  }

  /** Environment variables: names in capitals, values scalars (written as strings). */
  env(value: unknown, field: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    const o = this.object(value, field);
    const env: Record<string, string> = {};
    for (const [name, v] of Object.entries(o)) {
      if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
        this.problems.push(`${field}.${name}: an environment variable name, in capitals`);
      } else if (!['string', 'number', 'boolean'].includes(typeof v)) {
        this.problems.push(`${field}.${name}: must be a string, number or boolean`);
      } else {
        env[name] = String(v);
      }
    }
    return env;
  }
}
