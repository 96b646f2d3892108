import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type Readiness,
  SUBJECTS,
  type TerminalHealth,
  type TerminalListReply,
} from '@tillbus/contracts';
import { ListTerminalsRequest, RemoveTerminalRequest, TerminalRef } from '@tillbus/contracts/dto';
import { SecretStore, SecretUnavailableError } from '../vendor/secret-store';
import { servesVendor, type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from '../config';
import { HealthStore } from '../diagnosis/health-store.service';
import { RegistryService } from '../registry/registry.service';
import { SECRET_FIELDS, TerminalDto, type TerminalRecord } from '../registry/terminal.dto';
import { DiagnoseRouter } from './diagnose-router';

const DEFAULT_PAGE = 100;

/** The bus API. Handlers are thin: the registry, the health store and the diagnosis service do the work. */
@Controller()
export class DeviceHealthController {
  constructor(
    private readonly registry: RegistryService,
    private readonly store: HealthStore,
    private readonly router: DiagnoseRouter,
    private readonly secrets: SecretStore,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
  ) {}

  /** From the shared health cache; never calls the terminal. */
  @MessagePattern(SUBJECTS.deviceHealth.readiness)
  async readiness(@Payload() request: TerminalRef): Promise<Readiness> {
    // One KV read on the hot path: the cached health carries the terminal's identity.
    const health = await this.store.read(request.terminalId);
    if (health) return this.store.readiness(health, health);
    return this.store.readiness(await this.registry.get(request.terminalId), undefined);
  }

  /**
   * A fresh diagnosis through the same adapters as the poller; a busy terminal answers BUSY, not an error. Made by a
   * replica that serves the terminal's vendor: here, or forwarded (DiagnoseRouter).
   */
  @MessagePattern(SUBJECTS.deviceHealth.diagnose)
  diagnose(@Payload() request: TerminalRef): Promise<TerminalHealth> {
    return this.router.diagnose(request.terminalId);
  }

  @MessagePattern(SUBJECTS.deviceHealth.terminalsUpsert)
  async upsert(@Payload() request: TerminalDto) {
    const { terminal, created } = await this.registry.upsert(request);
    return { terminal, created, unresolvedSecrets: this.unresolved(terminal) };
  }

  @MessagePattern(SUBJECTS.deviceHealth.terminalsRemove)
  async remove(@Payload() request: RemoveTerminalRequest) {
    const removed = await this.registry.remove(request.terminalId);
    await this.store.remove(request.terminalId);
    return { terminalId: request.terminalId, removed };
  }

  @MessagePattern(SUBJECTS.deviceHealth.terminalsList)
  list(@Payload() request: ListTerminalsRequest): TerminalListReply {
    const limit = request.limit ?? DEFAULT_PAGE;
    const rows = this.registry
      .all()
      .filter((t) => !request.vendor || t.vendor === request.vendor)
      .filter((t) => !request.storeId || t.storeId === request.storeId)
      .filter((t) => !request.cursor || t.terminalId > request.cursor)
      .sort((a, b) => (a.terminalId < b.terminalId ? -1 : a.terminalId > b.terminalId ? 1 : 0))
      .map((terminal) => ({
        terminal,
        readiness: this.store.readiness(terminal, this.store.cached(terminal.terminalId)),
      }))
      .filter((row) => !request.status || row.readiness.status === request.status);
    const page = rows.slice(0, limit);
    return {
      terminals: page.map(({ terminal, readiness }) => ({
        ...terminal,
        health: {
          status: readiness.status,
          reasons: readiness.reasons,
          stale: readiness.stale,
          ...(readiness.checkedAt ? { checkedAt: readiness.checkedAt } : {}),
        },
      })),
      ...(rows.length > limit ? { nextCursor: page[page.length - 1].terminal.terminalId } : {}),
    };
  }

  /**
   * Secret references that do not resolve on this replica now (the entry is stored anyway). Checked only for a
   * vendor this replica serves: another vendor's keys are mounted on that vendor's deployment, not here.
   */
  private unresolved(terminal: TerminalRecord): { field: string; message: string }[] {
    if (!servesVendor(this.config, terminal.vendor)) return [];
    const connection = terminal.connection as unknown as Record<string, string | undefined>;
    const problems: { field: string; message: string }[] = [];
    for (const field of SECRET_FIELDS[terminal.connection.kind]) {
      const ref = connection[field];
      if (ref === undefined) continue;
      try {
        this.secrets.text(ref);
      } catch (error) {
        if (!(error instanceof SecretUnavailableError)) throw error;
        problems.push({ field: `connection.${field}`, message: error.message });
      }
    }
    return problems;
  }
}
