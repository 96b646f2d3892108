import { HangingResponses, TerminalFaults } from '../shared/fleet';
import type { SimulatedPoi } from './diagnosis';
import { FaultError, parseAdyenFaults, type AdyenFaults } from './faults';

const SERVICE_IDS_REMEMBERED = 10_000;

/**
 * What each POI carries between requests: its faults, the transaction that keeps it Busy, the ServiceIDs it has
 * seen, and the requests a `noAnswer` fault holds.
 */
export class PoiStates {
  readonly hanging = new HangingResponses();
  readonly faults: TerminalFaults<AdyenFaults>;
  /** ServiceIDs that a POI saw twice. */
  duplicateServiceIds = 0;
  private readonly transactions = new Map<string, number>();
  private readonly serviceIds = new Map<string, Set<string>>();

  constructor(
    private readonly pois: ReadonlyMap<string, SimulatedPoi>,
    private readonly now: () => number,
    initialFaults: Readonly<Record<string, AdyenFaults>> | undefined,
  ) {
    this.faults = new TerminalFaults<AdyenFaults>({
      check: (poiId) => this.check(poiId),
      parse: parseAdyenFaults,
      onClearAll: () => {
        this.transactions.clear();
        this.hanging.dropAll();
      },
    });
    this.faults.load(initialFaults);
  }

  check(poiId: string): void {
    if (!this.pois.has(poiId)) throw new FaultError(`no simulated POI with POIID ${poiId}`);
  }

  /** What a request to this POI meets (none: `{}`). */
  faultOf(poiId: string): AdyenFaults {
    return this.faults.of(poiId) ?? {};
  }

  startTransaction(poiId: string, durationMs?: number): void {
    this.check(poiId);
    this.transactions.set(
      poiId,
      durationMs === undefined ? Number.POSITIVE_INFINITY : this.now() + durationMs,
    );
  }

  endTransaction(poiId: string): void {
    this.check(poiId);
    this.transactions.delete(poiId);
  }

  inTransaction(poiId: string): boolean {
    const until = this.transactions.get(poiId);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.transactions.delete(poiId);
      return false;
    }
    return true;
  }

  /** Remembers the ServiceID for the POI; false (and counted) when the POI has seen it already. */
  firstUseOf(poiId: string, serviceId: string): boolean {
    let seen = this.serviceIds.get(poiId);
    if (!seen) this.serviceIds.set(poiId, (seen = new Set()));
    if (seen.has(serviceId)) {
      this.duplicateServiceIds += 1;
      return false;
    }
    seen.add(serviceId);
    if (seen.size > SERVICE_IDS_REMEMBERED) seen.delete(seen.values().next().value as string);
    return true;
  }
}
