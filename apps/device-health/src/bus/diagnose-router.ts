import { Inject, Injectable } from '@nestjs/common';
import {
  BusRequestError,
  codedError,
  type DeviceHealthErrorCode,
  SUBJECTS,
  type TerminalHealth,
} from '@tillbus/contracts';
import { BusClient } from '@tillbus/messaging';
import type { HealthVendor } from '@tillbus/result-codes';
import { servesVendor, type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from '../config';
import { DiagnosisService } from '../diagnosis/diagnosis.service';
import { RegistryService } from '../registry/registry.service';

/** Where a diagnose for a terminal of each vendor goes: only replicas serving the vendor subscribe these. */
export const VENDOR_DIAGNOSE_SUBJECTS: Record<HealthVendor, string> = {
  antom: SUBJECTS.deviceHealth.diagnoseAntom,
  adyen: SUBJECTS.deviceHealth.diagnoseAdyen,
};

/** No replica that serves the terminal's vendor took the request (or it reached one that does not serve it). */
export class VendorNotServedError extends codedError<DeviceHealthErrorCode>(
  'VENDOR_NOT_SERVED',
  'VendorNotServedError',
) {
  constructor(
    message: string,
    details: { terminalId: string; vendor: HealthVendor; servedBy: string },
    options?: ErrorOptions,
  ) {
    super(message, details, options);
  }
}

/**
 * On-demand diagnoses when deployments serve different vendors (DEVICE_HEALTH_VENDORS). Any replica takes
 * `tillbus.device-health.diagnose` (queue group device-health, shared by every deployment). A terminal of a vendor
 * this replica serves is diagnosed here; any other is forwarded to `tillbus.device-health.diagnose.<vendor>`, which
 * only replicas serving that vendor subscribe (their own queue group on that subject), so exactly one replica that
 * holds the vendor's keys diagnoses it. Nobody subscribed there: VENDOR_NOT_SERVED, naming the deployment to run.
 */
@Injectable()
export class DiagnoseRouter {
  constructor(
    private readonly registry: RegistryService,
    private readonly diagnosis: DiagnosisService,
    private readonly bus: BusClient,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
  ) {}

  /** `tillbus.device-health.diagnose`: here, or forwarded to a replica of the terminal's vendor. */
  async diagnose(terminalId: string): Promise<TerminalHealth> {
    const terminal = await this.registry.get(terminalId);
    if (servesVendor(this.config, terminal.vendor))
      return this.diagnosis.diagnose(terminal, 'request');
    const subject = VENDOR_DIAGNOSE_SUBJECTS[terminal.vendor];
    try {
      // A diagnosis takes up to DIAGNOSIS_TIMEOUT_MS, then its cache write and event: one bus timeout more.
      return await this.bus.request<TerminalHealth>(
        subject,
        { terminalId },
        { timeoutMs: this.config.DIAGNOSIS_TIMEOUT_MS + this.config.BUS_REQUEST_TIMEOUT_MS },
      );
    } catch (error) {
      if (error instanceof BusRequestError && error.code === 'NO_RESPONDERS') {
        throw new VendorNotServedError(
          `terminal ${terminalId} is an ${terminal.vendor} terminal and no device-health replica serves ${terminal.vendor}: ` +
            `run device-health-${terminal.vendor} (DEVICE_HEALTH_VENDORS=${terminal.vendor}) or add ${terminal.vendor} to DEVICE_HEALTH_VENDORS`,
          { terminalId, vendor: terminal.vendor, servedBy: `device-health-${terminal.vendor}` },
          { cause: error },
        );
      }
      // The serving replica's own answer (NOT_FOUND, SHUTTING_DOWN, ...) or TIMEOUT, as it came.
      throw error;
    }
  }

  /** `tillbus.device-health.diagnose.<vendor>`: diagnosed here, never forwarded again (no loop). */
  async diagnoseHere(terminalId: string): Promise<TerminalHealth> {
    const terminal = await this.registry.get(terminalId);
    if (!servesVendor(this.config, terminal.vendor)) {
      // Only when the terminal changed vendor between the forward and now.
      throw new VendorNotServedError(
        `terminal ${terminalId} is an ${terminal.vendor} terminal; this replica serves ${this.config.DEVICE_HEALTH_VENDORS.join(',')} only: ` +
          `ask tillbus.device-health.diagnose, which routes it to device-health-${terminal.vendor}`,
        { terminalId, vendor: terminal.vendor, servedBy: `device-health-${terminal.vendor}` },
      );
    }
    return this.diagnosis.diagnose(terminal, 'request');
  }
}
