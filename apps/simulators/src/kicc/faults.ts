import type { KiccInitCode, KiccPhaseEventCode } from '@tillbus/result-codes';
import { Misbehaviours, type BridgeMisbehaviour } from './misbehaviour';

/** Faults of one device; every field can be changed while the simulator runs. */
export interface DeviceFaults {
  /** Answer every command but CommandCancel with `busy`, as if this foreign requestId were running. */
  busyWith?: string | null;
  /** The SDK's onInitResult: anything but INIT_SUCCESS makes the bridge answer `not_ready`. */
  init?: KiccInitCode;
  /**
   * Lose the next N Purchase or PurchaseCancel results: the SDK never calls back, nothing is published (the
   * payment still happens). GetLastTransaction and CommandCancel answers are not affected.
   */
  dropResults?: number;
  /**
   * Lose the next N Purchase or PurchaseCancel command messages on their way to the bridge (a silent link loss):
   * no ack, nothing journaled, nothing started. Resends of the same command count too.
   */
  dropCommands?: number;
  /** Answer the next N GetLastTransaction queries with onCommandFailed CommandResponseTimeout. */
  failLastTransaction?: number;
  /** Publish Purchase and PurchaseCancel results this many ms late (0: on time). */
  delayResultMs?: number;
  /** Stop after emitting this event until `release(deviceId)`, a CommandCancel or a device restart. */
  holdAt?: KiccPhaseEventCode | null;
  /** Overrides the simulator's `lastTransactionRequestId` for this device. */
  lastTransactionRequestId?: boolean;
  /** Deliberate protocol breaches (misbehaviour.ts), for the bridge certifier's tests. */
  misbehave?: BridgeMisbehaviour[];
}

/** Throws for an unknown misbehaviour mode, so a bad fault is refused when set, not at the next command. */
export function checkDeviceFaults(faults: DeviceFaults): void {
  if (faults.misbehave !== undefined) new Misbehaviours(faults.misbehave);
}

/** Whether a result of this command is subject to `dropResults` and `delayResultMs` (the payments are). */
export function isPaymentCommand(commandName: string): boolean {
  return commandName === 'Purchase' || commandName === 'PurchaseCancel';
}
