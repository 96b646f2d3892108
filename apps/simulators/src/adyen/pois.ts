import { parsePoiId } from '@tillbus/protocols-adyen';
import type { SimulatedPoi } from './diagnosis';
import { FaultError } from './faults';

export interface AdyenSimTerminalSpec {
  /** `[model]-[serial]`, or a Mobile SDK installation id. */
  poiId: string;
  keyIdentifier?: string;
  passphrase?: string;
  keyVersion?: number;
  storeId?: string;
  merchantAccount?: string;
  firmwareVersion?: string;
  batteryPowered?: boolean;
  printer?: boolean;
}

export interface NexoSecurity {
  keyIdentifier: string;
  passphrase: string;
  keyVersion: number;
}

export interface PoiListOptions {
  /** How many payment terminals (`<model>-<serial>`), or their POIIDs / specs. */
  terminals?: number | readonly (string | AdyenSimTerminalSpec)[];
  /** How many Mobile SDK installations (POIID = installation id). */
  mobile?: number;
  model?: string;
  merchantAccount?: string;
}

/** The fleet's POIs by POIID: terminals first, then Mobile SDK installations; a bad POIID is refused. */
export function simulatedPois(
  options: PoiListOptions,
  security: NexoSecurity,
): Map<string, SimulatedPoi> {
  const merchantAccount = options.merchantAccount ?? 'TillbusSimulatorPOS';
  const model = options.model ?? 'V400m';
  const specs: AdyenSimTerminalSpec[] =
    typeof options.terminals === 'number' || options.terminals === undefined
      ? Array.from({ length: options.terminals ?? 0 }, (_, i) => ({
          poiId: `${model}-${String(i + 1).padStart(9, '0')}`,
        }))
      : options.terminals.map((t) => (typeof t === 'string' ? { poiId: t } : t));
  for (let i = 1; i <= (options.mobile ?? 0); i++) {
    specs.push({ poiId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}.1` });
  }
  const pois = new Map<string, SimulatedPoi>();
  for (const spec of specs) {
    let kind: SimulatedPoi['kind'];
    try {
      kind = parsePoiId(spec.poiId).kind;
    } catch {
      throw new FaultError(`"${spec.poiId.slice(0, 60)}" is not a POIID`);
    }
    pois.set(spec.poiId, {
      poiId: spec.poiId,
      kind,
      keyIdentifier: spec.keyIdentifier ?? security.keyIdentifier,
      passphrase: spec.passphrase ?? security.passphrase,
      keyVersion: spec.keyVersion ?? security.keyVersion,
      storeId: spec.storeId ?? 'SimStore',
      merchantAccount: spec.merchantAccount ?? merchantAccount,
      firmwareVersion: spec.firmwareVersion ?? 'Castles_Android 1.99.3',
      batteryPowered: spec.batteryPowered ?? kind === 'terminal',
      printer: spec.printer ?? kind === 'terminal',
    });
  }
  return pois;
}
