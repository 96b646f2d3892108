import { randomBytes } from 'node:crypto';
import type { BridgeResultCallback } from '@tillbus/protocols-kicc';
import type { KiccEventCode, KiccPhaseEventCode } from '@tillbus/result-codes';
import type { LastTransaction, Run, SimDevice } from './bridge-model';
import type { BusLink } from './bus-link';
import { isPaymentCommand } from './faults';
import type { SimRuntime } from './runtime';
import {
  failsImmediately,
  needsSignature,
  outcomeForAmount,
  type ScriptedCommand,
  type SimOutcome,
  type SimTiming,
} from './scenarios';

const ACQUIRER_MERCHANT_ID = '608525310521';

type ResultBody = {
  responseData?: Record<string, unknown>;
  failure?: { code: string; message?: string };
  lastSentRequestId?: string;
};

/**
 * The EDC device behind the SDK's sendCommand: it walks a command through its phase events, honours the device's
 * faults (holds, dropped or late results) and calls back with the outcome the script or the amount table gives.
 */
export class DeviceRunner {
  private transactionCounter = 0;

  constructor(
    private readonly runtime: SimRuntime,
    private readonly bus: BusLink,
    private readonly timing: SimTiming,
    private readonly lastTransactionRequestId: boolean | undefined,
  ) {}

  async execute(device: SimDevice, run: Run): Promise<void> {
    switch (run.commandName) {
      case 'Purchase':
        return this.purchase(device, run);
      case 'PurchaseCancel':
        return this.purchaseCancel(device, run);
      case 'GetLastTransaction':
        return this.getLastTransaction(device, run);
      default:
        return undefined;
    }
  }

  /** CommandCancel's answer, a query's time after it was accepted. */
  async cancel(device: SimDevice, target: Run, cancel: Run): Promise<void> {
    await this.runtime.later(this.timing.query);
    if (device.running !== target || target.stopped) {
      return this.result(device, cancel, 'onCommandFailed', {
        failure: { code: 'CommandInvalid', message: 'nothing to cancel' },
      });
    }
    // "only before reading the card and initiating a payment"
    if (
      target.phase !== 'started' &&
      target.phase !== 'READY' &&
      target.phase !== 'CARD_DETECTED' &&
      !device.misbehaviours.has('cancel-after-card-read')
    ) {
      return this.result(device, cancel, 'onCommandFailed', {
        failure: { code: 'CommandInvalid', message: 'the card was already read' },
      });
    }
    this.stop(device, target);
    this.event(device, target, 'CANCELLING');
    // the cancelled command ends here: CommandCancel's onSuccess is its end (README, assumptions)
    this.result(device, cancel, 'onSuccess', { responseData: {} });
  }

  /** The device reboots: a running command ends with CommandResponseTimeout; `charged` says whether it paid. */
  restart(device: SimDevice, charged: boolean | undefined): void {
    const run = device.running;
    if (!run) return;
    this.stop(device, run);
    this.event(device, run, 'DEVICE_INITIALIZE');
    if (charged && isPaymentCommand(run.commandName)) {
      device.lastTransaction = this.transaction(run, 'SUCCESS');
    }
    this.result(device, run, 'onCommandFailed', {
      failure: { code: 'CommandResponseTimeout', message: 'the device restarted' },
    });
    this.bus.changed(device.bridge);
  }

  stop(device: SimDevice, run: Run): void {
    run.stopped = true;
    run.release?.();
    if (device.running === run) device.running = null;
  }

  private nextScripted(device: SimDevice, run: Run): ScriptedCommand {
    const amount = (run.params.paymentAmount as { value?: unknown } | undefined)?.value;
    return device.script.shift() ?? { outcome: outcomeForAmount(amount) };
  }

  private async purchase(device: SimDevice, run: Run): Promise<void> {
    const { outcome, notices } = this.nextScripted(device, run);
    if (failsImmediately(outcome)) {
      await this.runtime.later(this.timing.query);
      return this.finish(device, run, outcome, false);
    }
    const steps: [number, KiccPhaseEventCode][] = [
      [this.timing.ready, 'READY'],
      [this.timing.cardDetected, 'CARD_DETECTED'],
      [this.timing.cardRead, 'CARD_READ_COMPLETED'],
    ];
    if (needsSignature(run.params.paymentAmount as { value?: unknown; currency?: unknown })) {
      steps.push([this.timing.signature, 'PENDING_SIGNATURE']);
    }
    steps.push([this.timing.startTransaction, 'START_TRANSACTION']);
    for (const [delay, code] of steps) {
      if (!(await this.step(device, run, delay, code))) return;
      if (code === 'READY') for (const notice of notices ?? []) this.event(device, run, notice);
    }
    await this.runtime.later(this.timing.result);
    if (run.stopped) return;
    this.finish(device, run, outcome, true);
  }

  private async purchaseCancel(device: SimDevice, run: Run): Promise<void> {
    const { outcome } = this.nextScripted(device, run);
    if (failsImmediately(outcome)) {
      await this.runtime.later(this.timing.query);
      return this.finish(device, run, outcome, false);
    }
    if (!(await this.step(device, run, this.timing.startTransaction, 'START_TRANSACTION'))) return;
    await this.runtime.later(this.timing.result);
    if (run.stopped) return;
    this.finish(device, run, outcome, true);
  }

  private async getLastTransaction(device: SimDevice, run: Run): Promise<void> {
    await this.runtime.later(this.timing.query);
    if (run.stopped) return;
    const last = device.lastTransaction;
    device.running = null;
    if ((device.faults.failLastTransaction ?? 0) > 0) {
      device.faults.failLastTransaction = (device.faults.failLastTransaction ?? 0) - 1;
      return this.result(device, run, 'onCommandFailed', {
        failure: { code: 'CommandResponseTimeout', message: 'the query got no answer' },
      });
    }
    if (!last) {
      return this.result(device, run, 'onBusinessFailed', {
        failure: { code: 'PROCESS_FAIL', message: 'no transaction on this device' },
        responseData: {
          requestId: run.requestId,
          result: { resultCode: 'PROCESS_FAIL', resultMessage: 'no transaction on this device' },
          acquirerInfo: {},
        },
      });
    }
    const { requestId, ...data } = last.responseData;
    const withRequestId = device.faults.lastTransactionRequestId ?? this.lastTransactionRequestId;
    const responseData = withRequestId ? { requestId, ...data } : data;
    this.result(device, run, 'onSuccess', { responseData });
  }

  /** Waits, emits the event, and holds there if told to. False when the command was stopped meanwhile. */
  private async step(
    device: SimDevice,
    run: Run,
    delay: number,
    code: KiccPhaseEventCode,
  ): Promise<boolean> {
    await this.runtime.later(delay);
    if (run.stopped) return false;
    run.phase = code;
    this.event(device, run, code);
    if (device.faults.holdAt === code && run.released) {
      run.released = false;
    } else if (device.faults.holdAt === code) {
      await new Promise<void>((resolve) => {
        run.release = resolve;
      });
      run.release = undefined;
    }
    return !run.stopped;
  }

  private finish(device: SimDevice, run: Run, outcome: SimOutcome, reachedAcquirer: boolean): void {
    device.running = null;
    const charged =
      outcome.callback === 'onSuccess' ||
      (outcome.callback === 'onCommandFailed' && outcome.charged === true);
    if (reachedAcquirer && (charged || outcome.callback === 'onBusinessFailed')) {
      device.lastTransaction = this.transaction(run, charged ? 'SUCCESS' : outcome.code);
    }
    if (outcome.callback === 'onSuccess') {
      const { requestId: _ignored, ...data } = device.lastTransaction!.responseData;
      void _ignored;
      this.result(device, run, 'onSuccess', {
        responseData: { requestId: run.requestId, ...omit(data, 'responseCommand') },
      });
    } else if (outcome.callback === 'onBusinessFailed') {
      const message = `simulated ${outcome.code}`;
      this.result(device, run, 'onBusinessFailed', {
        failure: { code: outcome.code, message },
        responseData: {
          requestId: run.requestId,
          result: { resultCode: outcome.code, resultMessage: message },
          acquirerInfo: {},
        },
      });
    } else {
      this.result(device, run, 'onCommandFailed', {
        failure: { code: outcome.code, message: `simulated ${outcome.code}` },
      });
    }
    this.bus.changed(device.bridge);
  }

  /** The transaction as the device keeps it for GetLastTransaction, with a fresh acquirer id and metadata. */
  private transaction(run: Run, resultCode: string): LastTransaction {
    this.transactionCounter += 1;
    const params = run.params as {
      paymentAmount: { value: string; currency: string };
      taxAmount?: { value: string; currency: string };
      tipAmount: { value: string; currency: string };
      creditPayPlan?: { installmentNum?: string };
      acquirerInfo?: { acquirerTerminalId?: string; acquirerRegistrationNo?: string };
    };
    const currency = params.paymentAmount.currency;
    const success = resultCode === 'SUCCESS';
    const serial = String(this.transactionCounter).padStart(6, '0');
    const acquirerInfo: Record<string, unknown> = {
      acquirerResultCode: success ? '0000' : '8001',
      acquirerResultMessage: success ? 'approved' : 'declined',
      acquirerTransactionId: `${Date.now().toString().slice(-4)}${serial}`,
      acquirerTerminalId: params.acquirerInfo?.acquirerTerminalId ?? '0788888',
      acquirerRegistrationNo: params.acquirerInfo?.acquirerRegistrationNo ?? '0216001234',
      acquirerMerchantId: ACQUIRER_MERCHANT_ID,
      acquirerApprovalNum: success ? String(16_000_000 + this.transactionCounter) : '',
      acquirerName: 'KICC',
      notice: ' 매입사제출테스트 거래임',
      acquirerMetaData: Buffer.from(
        JSON.stringify({ tx: serial, nonce: randomBytes(12).toString('hex') }),
      ).toString('base64'),
    };
    if (needsSignature(params.paymentAmount) && run.commandName === 'Purchase') {
      acquirerInfo.signData = randomBytes(24).toString('base64');
    }
    const responseData: Record<string, unknown> = {
      requestId: run.requestId,
      responseCommand: run.commandName,
      paymentAmount: params.paymentAmount,
      taxAmount: params.taxAmount ?? { value: '0', currency },
      tipAmount: params.tipAmount,
      creditPayPlan: { installmentNum: params.creditPayPlan?.installmentNum ?? '0' },
      result: { resultCode, resultMessage: success ? '' : `simulated ${resultCode}` },
      acquirerInfo,
    };
    if (run.commandName === 'Purchase') {
      responseData.paymentResultInfo = {
        cardBin: '52364979',
        paymentMethodId: '',
        issuerCode: 'KB',
        funding: 'CREDIT',
        paymentMethodRegion: 'KR',
        paymentMethodType: 'CARD',
      };
    }
    return { requestId: run.requestId, responseData };
  }

  private event(device: SimDevice, run: Run, code: KiccEventCode): void {
    if (!device.misbehaviours.reportsEvent(code)) return;
    this.runtime.counters.events += 1;
    this.bus.emit(device, run, { type: 'event', body: { code } });
  }

  private result(
    device: SimDevice,
    run: Run,
    callback: BridgeResultCallback,
    body: ResultBody,
  ): void {
    const faults = device.faults;
    const payment = isPaymentCommand(run.commandName);
    if (payment && (faults.dropResults ?? 0) > 0) {
      // the SDK never called back: nothing is stored or published
      faults.dropResults = (faults.dropResults ?? 0) - 1;
      this.runtime.counters.resultsDropped += 1;
      return;
    }
    this.runtime.counters.results += 1;
    // v2: which payment the device was handed last, beside the answer (docs/bridge-protocol.md §12.3)
    if (
      run.commandName === 'GetLastTransaction' &&
      device.bridge.speaksJournal &&
      device.lastSentRequestId
    )
      body = { ...body, lastSentRequestId: device.lastSentRequestId };
    const misbehaviours = device.misbehaviours;
    const delay = (payment ? (faults.delayResultMs ?? 0) : 0) + misbehaviours.resultDelayMs();
    this.bus.emit(device, run, { type: 'result', body: { callback, ...body } }, delay);
    if (misbehaviours.has('duplicate-results')) {
      this.bus.emit(device, run, { type: 'result', body: { callback, ...body } }, delay);
    }
  }
}

function omit<T extends Record<string, unknown>>(value: T, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = value;
  void _dropped;
  return rest;
}
