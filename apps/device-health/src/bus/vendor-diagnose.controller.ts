import { Controller, type Type } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { SUBJECTS, type TerminalHealth } from '@tillbus/contracts';
import { TerminalRef } from '@tillbus/contracts/dto';
import type { HealthVendor } from '@tillbus/result-codes';
import { DiagnoseRouter } from './diagnose-router';

/*
 * One controller per vendor, registered only on replicas that serve the vendor (DEVICE_HEALTH_VENDORS), so the
 * subscription itself is what routes: `tillbus.device-health.diagnose.<vendor>` reaches only replicas holding that
 * vendor's keys, one of them per request (queue group device-health on that subject).
 */

@Controller()
export class AntomDiagnoseController {
  constructor(private readonly router: DiagnoseRouter) {}

  @MessagePattern(SUBJECTS.deviceHealth.diagnoseAntom)
  diagnose(@Payload() request: TerminalRef): Promise<TerminalHealth> {
    return this.router.diagnoseHere(request.terminalId);
  }
}

@Controller()
export class AdyenDiagnoseController {
  constructor(private readonly router: DiagnoseRouter) {}

  @MessagePattern(SUBJECTS.deviceHealth.diagnoseAdyen)
  diagnose(@Payload() request: TerminalRef): Promise<TerminalHealth> {
    return this.router.diagnoseHere(request.terminalId);
  }
}

export const VENDOR_DIAGNOSE_CONTROLLERS: Record<HealthVendor, Type<unknown>> = {
  antom: AntomDiagnoseController,
  adyen: AdyenDiagnoseController,
};
