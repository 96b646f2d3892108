import {
  ADYEN_ATTESTATION_STATUS_NAMES,
  ADYEN_ERROR_CONDITION_NAMES,
  ADYEN_FORWARD_ATTEMPT_STATUS_NAMES,
  type AdyenAttestationStatus,
  type AdyenErrorCondition,
  type AdyenForwardAttemptStatus,
} from '@tillbus/result-codes';
import {
  booleanFault,
  FaultError,
  faultFields,
  integerFault,
  MAX_SLOW_MS,
  oneOfFault,
} from '../shared/faults';

export { FaultError, MAX_SLOW_MS };

/** What can go wrong with one simulated Adyen terminal or Mobile SDK installation. */
export interface AdyenFaults {
  /** POIStatus.CommunicationOKFlag false. */
  networkDown?: boolean;
  /** PrinterStatus NoPaper / PaperLow / PaperJam / OutOfOrder. */
  noPaper?: boolean;
  paperLow?: boolean;
  paperJam?: boolean;
  printerOutOfOrder?: boolean;
  /** batteryLevel 5% (or `batteryLevel` exactly). */
  lowBattery?: boolean;
  batteryLevel?: number;
  /** unconfirmedBatchCount in AdditionalResponse (Mobile SDK: stored offline payments not forwarded). */
  unconfirmedBatches?: number;
  /** HostStatus[].IsReachableFlag false when the request has HostDiagnosisFlag=true. */
  hostUnreachable?: boolean;
  /** tamperStatus=ARS_TRIGGERED. */
  tampered?: boolean;
  /** Failure / Busy, as while in a transaction. */
  busy?: boolean;
  /** POIStatus.GlobalStatus Maintenance. */
  maintenance?: boolean;
  /** Failure with this ErrorCondition. */
  errorCondition?: AdyenErrorCondition;
  slowMs?: number;
  noAnswer?: boolean;
  /** Local: the response HMAC does not verify. Cloud: the API key is refused (HTTP 401). */
  badSignature?: boolean;
  malformed?: AdyenMalformation;
  /** Mobile SDK: sdkExpiry (ISO 8601, UTC). */
  sdkExpiry?: string;
  /** Mobile SDK: attestationStatus.status. */
  attestation?: AdyenAttestationStatus;
  /** Mobile SDK: attestationStatus.resolvableIssues (selfResolvableIssues is set when non-empty). */
  resolvableIssues?: { name: string; message?: string }[];
  /** Mobile SDK: storeAndForwardStatus.forwardAttemptStatus. */
  forwardAttemptStatus?: AdyenForwardAttemptStatus;
  /**
   * Answer as a newer terminal would: PrinterStatus `CoverOpen` (a value Adyen's enum lacks today) and fields this
   * project has never seen in POIStatus, DiagnosisResponse and AdditionalResponse (`+` for spaces, as Adyen writes).
   */
  unknownValues?: boolean;
}

/** What `unknownValues` sends: a PrinterStatus not in the enum, and fields no schema here declares. */
export const ADYEN_UNKNOWN_VALUES = {
  printerStatus: 'CoverOpen',
  poiStatus: { PowerSource: 'Mains' },
  diagnosisResponse: { SimulatorExtension: { firmwareChannel: 'beta' } },
  additionalResponse: 'newVendorKey=new+vendor+value',
} as const;

export const ADYEN_MALFORMATIONS = [
  'garbage',
  'truncated',
  'wrong-types',
  'inner-garbage',
  'empty',
] as const;
export type AdyenMalformation = (typeof ADYEN_MALFORMATIONS)[number];

const BOOLEANS = [
  'networkDown',
  'noPaper',
  'paperLow',
  'paperJam',
  'printerOutOfOrder',
  'lowBattery',
  'hostUnreachable',
  'tampered',
  'busy',
  'maintenance',
  'noAnswer',
  'badSignature',
  'unknownValues',
] as const;

/** Validates faults from a CLI file or the control endpoint; the message names the field at fault. */
export function parseAdyenFaults(input: unknown, where = 'faults'): AdyenFaults {
  const faults: AdyenFaults = {};
  for (const [key, value, field] of faultFields(input, where)) {
    switch (key) {
      case 'errorCondition':
        faults.errorCondition = oneOfFault(field, value, ADYEN_ERROR_CONDITION_NAMES);
        break;
      case 'attestation':
        faults.attestation = oneOfFault(field, value, ADYEN_ATTESTATION_STATUS_NAMES);
        break;
      case 'forwardAttemptStatus':
        faults.forwardAttemptStatus = oneOfFault(field, value, ADYEN_FORWARD_ATTEMPT_STATUS_NAMES);
        break;
      case 'malformed':
        faults.malformed = oneOfFault(field, value, ADYEN_MALFORMATIONS);
        break;
      case 'slowMs':
        faults.slowMs = integerFault(field, value, MAX_SLOW_MS);
        break;
      case 'batteryLevel':
        faults.batteryLevel = integerFault(field, value, 100);
        break;
      case 'unconfirmedBatches':
        faults.unconfirmedBatches = integerFault(field, value, 1_000_000);
        break;
      case 'sdkExpiry':
        if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
          throw new FaultError(`${field} must be an ISO 8601 date-time`);
        }
        faults.sdkExpiry = new Date(value).toISOString();
        break;
      case 'resolvableIssues':
        faults.resolvableIssues = issues(field, value);
        break;
      default:
        if (!(BOOLEANS as readonly string[]).includes(key)) {
          throw new FaultError(
            `${field} is not an Adyen fault; known: ${[...BOOLEANS, 'errorCondition', 'attestation', 'forwardAttemptStatus', 'malformed', 'slowMs', 'batteryLevel', 'unconfirmedBatches', 'sdkExpiry', 'resolvableIssues'].join(', ')}`,
          );
        }
        faults[key as (typeof BOOLEANS)[number]] = booleanFault(field, value);
    }
  }
  return faults;
}

function issues(field: string, value: unknown): { name: string; message?: string }[] {
  if (!Array.isArray(value) || value.length > 20) {
    throw new FaultError(`${field} must be an array of at most 20 {name, message?} objects`);
  }
  return value.map((item, i) => {
    const at = `${field}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new FaultError(`${at} must be an object`);
    }
    const { name, message, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new FaultError(`${at} has unknown fields`);
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new FaultError(`${at}.name must be a non-empty string of at most 200 characters`);
    }
    if (message !== undefined && (typeof message !== 'string' || message.length > 1000)) {
      throw new FaultError(`${at}.message must be a string of at most 1000 characters`);
    }
    return message === undefined ? { name } : { name, message };
  });
}
