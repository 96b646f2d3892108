import { createHash, randomBytes } from 'node:crypto';
import {
  DEVICE_QUERY_DEVICE_ID,
  parseEasyCardRequestData,
  type JsonObject,
} from '@tillbus/protocols-intella';
import { answer, easyCardAnswer, type SimAnswer } from './answers';
import type { SimClock } from './clock';
import type { MerchantDirectory, MerchantState } from './directory';
import { faultedAnswer } from './fault-effects';
import type { ActiveFault } from './faults';

const TAIWAN_OFFSET_MS = 8 * 60 * 60 * 1000;

export type DeviceListFormat = 'objects' | 'strings' | 'json-text';

export interface EasyCardServiceOptions {
  /** The DeviceQuery Data field that lists the readers (undocumented; configurable on both sides). */
  deviceListField?: string;
  deviceListFormat?: DeviceListFormat;
  /** With the `objects` format, the field holding each reader's id. */
  deviceListIdField?: string;
  /** Answer 010117 to a reader whose earlier business day was not settled. */
  enforceSettlement?: boolean;
}

/** yyyy-MM-dd of an instant in Taiwan time (UTC+8). */
export function taiwanDay(epochMs: number): string {
  return new Date(epochMs + TAIWAN_OFFSET_MS).toISOString().slice(0, 10);
}

/** The EasyCard business logic (DeviceQuery, SignOn, Settlement), after the envelope is open and the merchant known. */
export class EasyCardService {
  private readonly listField: string;
  private readonly listFormat: DeviceListFormat;
  private readonly listIdField: string;

  constructor(
    private readonly directory: MerchantDirectory,
    private readonly clock: SimClock,
    private readonly options: EasyCardServiceOptions,
  ) {
    this.listField = options.deviceListField ?? 'DeviceList';
    this.listFormat = options.deviceListFormat ?? 'objects';
    this.listIdField = options.deviceListIdField ?? 'DeviceId';
  }

  serve(
    serviceType: string,
    merchant: MerchantState,
    data: JsonObject,
    fault: ActiveFault | undefined,
  ): SimAnswer {
    const now = this.clock();
    const deviceId = typeof data.DeviceId === 'string' ? data.DeviceId : undefined;
    const reader = deviceId ? this.directory.readers.get(deviceId) : undefined;
    const retry = typeof data.Retry === 'string' ? data.Retry : '0';
    const faulted = faultedAnswer(fault, retry);
    if (faulted) return faulted;
    let parsedOk = true;
    try {
      if (serviceType === 'SignOn' || serviceType === 'DeviceQuery' || serviceType === 'Settlement')
        parseEasyCardRequestData(serviceType, data);
    } catch {
      parsedOk = false;
    }
    if (!parsedOk) return answer('9998', 'invalid Data');
    if (serviceType === 'DeviceQuery') {
      if (data.DeviceId !== DEVICE_QUERY_DEVICE_ID) return answer('9998', 'invalid Data');
      return easyCardAnswer('000000', { [this.listField]: this.deviceList(merchant.mchId) });
    }
    if (serviceType !== 'SignOn' && serviceType !== 'Settlement') {
      return answer('9998', `ServiceType ${serviceType.slice(0, 32)} is not simulated`);
    }
    if (!reader || reader.mchId !== merchant.mchId) return answer('9998', 'unknown device');
    const today = taiwanDay(now);
    if (serviceType === 'Settlement') {
      reader.settlements++;
      reader.lastSettledAt = now;
      reader.unsettledSince = undefined;
      return easyCardAnswer('000000');
    }
    if (this.options.enforceSettlement && reader.unsettledSince && reader.unsettledSince < today) {
      return easyCardAnswer('010117');
    }
    const key = randomBytes(16).toString('hex');
    reader.signOns++;
    reader.lastSignOnAt = now;
    reader.keys.push(key);
    reader.unsettledSince ??= today;
    return easyCardAnswer('000000', {
      DeviceID: derivedDeviceId(reader.deviceId),
      NewDeviceID: `08300000${reader.deviceId}`.slice(-16).padStart(16, '0'),
      DongleDeviceID: dongleId(reader.deviceId),
      NewAESKey: key,
    });
  }

  private deviceList(mchId: string): JsonObject[string] {
    const ids = this.directory.readerIdsOf(mchId);
    if (this.listFormat === 'strings') return ids;
    const entries = ids.map((id) => ({ [this.listIdField]: id }));
    return this.listFormat === 'json-text' ? JSON.stringify(entries) : entries;
  }
}

/** The 10-digit DeviceID intella answers (seed: 0220131329); derived so it is stable per reader. */
function derivedDeviceId(deviceId: string): string {
  const digits = /^\d+$/.test(deviceId)
    ? deviceId
    : String(parseInt(createHash('sha256').update(deviceId).digest('hex').slice(0, 12), 16));
  return `02${digits}`.slice(-10).padStart(10, '0');
}

function dongleId(deviceId: string): string {
  return createHash('sha256').update(`dongle:${deviceId}`).digest('hex').slice(0, 12).toUpperCase();
}
