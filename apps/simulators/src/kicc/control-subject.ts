import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DeviceFaults } from './faults';
import type { ScriptedCommand } from './scenarios';
import type { KiccSimulator } from './simulator';

/** Request/reply subject that controls a running simulator from another process (tests, the demo, the CLI). */
export const KICC_SIM_CONTROL_SUBJECT = 'tillbus.sim.kicc-bridge.control';

/** Requests on KICC_SIM_CONTROL_SUBJECT. */
export type ControlRequest =
  | { op: 'stats' }
  | { op: 'executed'; deviceId?: string }
  | { op: 'faults'; deviceId: string; faults?: DeviceFaults }
  | { op: 'script'; deviceId: string; commands?: ScriptedCommand[] }
  | { op: 'release'; deviceId?: string }
  | { op: 'restartDevice'; deviceId: string; charged?: boolean }
  | { op: 'bridgeOnline'; bridgeId: string; online: boolean }
  | { op: 'heartbeatsLost'; bridgeId: string; lost: boolean }
  | { op: 'device'; deviceId: string };

/** Answers control requests on `subject` (default KICC_SIM_CONTROL_SUBJECT) with what `simulator` does. */
export function serveControl(
  nc: NatsConnection,
  subject: string | undefined,
  simulator: KiccSimulator,
): Subscription {
  const on = subject ?? KICC_SIM_CONTROL_SUBJECT;
  if (!on.startsWith('tillbus.sim.kicc-bridge.')) {
    throw new Error('the control subject must start with tillbus.sim.kicc-bridge.');
  }
  return nc.subscribe(on, {
    callback: (_error, msg) => void answer(msg, simulator),
  });
}

async function answer(msg: Msg, simulator: KiccSimulator): Promise<void> {
  let reply: unknown;
  try {
    reply = await control(
      simulator,
      JSON.parse(Buffer.from(msg.data).toString('utf8')) as ControlRequest,
    );
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (msg.reply) msg.respond(JSON.stringify(reply));
}

async function control(simulator: KiccSimulator, request: ControlRequest): Promise<unknown> {
  switch (request?.op) {
    case 'stats':
      return { ok: true, counters: simulator.counters };
    case 'executed':
      return { ok: true, executed: simulator.executed(request.deviceId) };
    case 'faults':
      simulator.setFaults(request.deviceId, request.faults ?? {});
      return { ok: true };
    case 'script':
      simulator.script(request.deviceId, ...(request.commands ?? []));
      return { ok: true };
    case 'release':
      // without a deviceId: every held device (the benchmark lets thousands go at once)
      for (const id of request.deviceId ? [request.deviceId] : simulator.deviceIds)
        simulator.release(id);
      return { ok: true };
    case 'restartDevice':
      simulator.restartDevice(request.deviceId, { charged: request.charged });
      return { ok: true };
    case 'bridgeOnline':
      await simulator.setBridgeOnline(request.bridgeId, flag(request.online, 'online'));
      return { ok: true };
    case 'heartbeatsLost':
      simulator.setHeartbeatsLost(request.bridgeId, flag(request.lost, 'lost'));
      return { ok: true };
    case 'device':
      return { ok: true, ...simulator.deviceState(request.deviceId) };
    default:
      return {
        ok: false,
        error:
          'op must be one of stats, executed, faults, script, release, restartDevice, bridgeOnline, heartbeatsLost, device',
      };
  }
}

/** A switch of a control request: true or false, nothing that only looks like one ("false" would turn it on). */
function flag(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name} must be true or false`);
  return value;
}
