import { formatAdditionalResponse, isValidServiceId } from '@tillbus/protocols-adyen';
import { ADYEN_TAMPER_TRIGGERED } from '@tillbus/result-codes';
import { ADYEN_UNKNOWN_VALUES, type AdyenFaults } from './faults';

/** One simulated POI: a payment terminal (`[model]-[serial]`) or a Mobile SDK installation. */
export interface SimulatedPoi {
  poiId: string;
  kind: 'terminal' | 'mobile-sdk';
  keyIdentifier: string;
  passphrase: string;
  keyVersion: number;
  storeId: string;
  merchantAccount: string;
  firmwareVersion: string;
  batteryPowered: boolean;
  printer: boolean;
}

/** What the simulator read from a decrypted (or cloud) request. */
export type DiagnosisAsk =
  | { ok: true; serviceId: string; saleId: string; poiId: string; hostDiagnosis: boolean }
  | { ok: false; serviceId?: string; saleId?: string; poiId?: string; problem: string };

/** Reads `{"SaleToPOIRequest": {MessageHeader, DiagnosisRequest}}`; a wrong message is a MessageFormat failure. */
export function readDiagnosisAsk(input: unknown): DiagnosisAsk {
  const request = field(input, 'SaleToPOIRequest');
  const header = field(request, 'MessageHeader');
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const serviceId = text(field(header, 'ServiceID'));
  const saleId = text(field(header, 'SaleID'));
  const poiId = text(field(header, 'POIID'));
  const base = { serviceId, saleId, poiId };
  const expect = [
    ['MessageClass', 'Service'],
    ['MessageCategory', 'Diagnosis'],
    ['MessageType', 'Request'],
  ] as const;
  for (const [name, value] of expect) {
    if (field(header, name) !== value) {
      return { ok: false, ...base, problem: `MessageHeader.${name} must be ${value}` };
    }
  }
  if (!isValidServiceId(serviceId)) {
    return { ok: false, ...base, problem: 'MessageHeader.ServiceID must be 1-10 alphanumerics' };
  }
  if (!saleId || !poiId)
    return { ok: false, ...base, problem: 'MessageHeader.SaleID and POIID are required' };
  const diagnosis = field(request, 'DiagnosisRequest');
  if (diagnosis === undefined || typeof diagnosis !== 'object' || diagnosis === null) {
    return { ok: false, ...base, problem: 'DiagnosisRequest is missing' };
  }
  const flag = field(diagnosis, 'HostDiagnosisFlag');
  if (flag !== undefined && typeof flag !== 'boolean') {
    return { ok: false, ...base, problem: 'DiagnosisRequest.HostDiagnosisFlag must be a boolean' };
  }
  return { ok: true, serviceId, saleId, poiId, hostDiagnosis: flag === true };
}

/** A field of a JSON object; undefined for anything that is not one. */
export function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

export function responseHeader(ask: { serviceId?: string; saleId?: string; poiId?: string }) {
  return {
    ProtocolVersion: '3.0',
    MessageClass: 'Service',
    MessageCategory: 'Diagnosis',
    MessageType: 'Response',
    ...(ask.serviceId ? { ServiceID: ask.serviceId } : {}),
    ...(ask.saleId ? { SaleID: ask.saleId } : {}),
    POIID: ask.poiId ?? 'unknown',
  };
}

/** A Failure answer with the given ErrorCondition (the AdditionalResponse says why, URL-encoded). */
export function failureAnswer(
  ask: { serviceId?: string; saleId?: string; poiId?: string },
  condition: string,
  why: string,
  globalStatus?: string,
) {
  return {
    SaleToPOIResponse: {
      MessageHeader: responseHeader(ask),
      DiagnosisResponse: {
        Response: {
          Result: 'Failure',
          ErrorCondition: condition,
          AdditionalResponse: `message=${encodeURIComponent(why)}`,
        },
        ...(globalStatus ? { POIStatus: { GlobalStatus: globalStatus } } : {}),
      },
    },
  };
}

/** The diagnosis answer of a POI in the state its faults describe. */
export function diagnosisAnswer(
  poi: SimulatedPoi,
  faults: AdyenFaults,
  ask: Extract<DiagnosisAsk, { ok: true }>,
  inTransaction: boolean,
  nowMs: number,
) {
  if (faults.busy || inTransaction) {
    return failureAnswer(ask, 'Busy', 'the terminal is processing another request', 'Busy');
  }
  if (faults.errorCondition) {
    return failureAnswer(ask, faults.errorCondition, `simulated ${faults.errorCondition}`);
  }
  if (faults.malformed === 'wrong-types') {
    return {
      SaleToPOIResponse: {
        MessageHeader: responseHeader(ask),
        DiagnosisResponse: {
          Response: { Result: 1, AdditionalResponse: ['batteryLevel'] },
          POIStatus: { GlobalStatus: 42, CommunicationOKFlag: 'yes' },
        },
      },
    };
  }
  const unconfirmed = faults.unconfirmedBatches ?? 0;
  const common = {
    unconfirmedBatchCount: unconfirmed,
    terminalId: poi.poiId,
    merchantAccount: poi.merchantAccount,
    storeId: poi.storeId,
  };
  const additional =
    poi.kind === 'mobile-sdk'
      ? formatAdditionalResponse({
          ...common,
          sdkExpiry: new Date(faults.sdkExpiry ?? nowMs + 180 * 86_400_000),
          storeAndForwardStatus: {
            raw: {
              available: true,
              active: faults.networkDown === true,
              ...(faults.forwardAttemptStatus
                ? { forwardAttemptStatus: faults.forwardAttemptStatus }
                : {}),
            },
          },
          attestationStatus: {
            raw: {
              status: faults.attestation ?? 'Valid',
              selfResolvableIssues: (faults.resolvableIssues ?? []).length > 0,
              ...(faults.resolvableIssues ? { resolvableIssues: faults.resolvableIssues } : {}),
            },
          },
        })
      : formatAdditionalResponse({
          ...common,
          ...(poi.batteryPowered || faults.lowBattery || faults.batteryLevel !== undefined
            ? { batteryLevel: faults.batteryLevel ?? (faults.lowBattery ? 5 : 87) }
            : {}),
          firmwareVersion: poi.firmwareVersion,
          ...(faults.tampered ? { tamperStatus: ADYEN_TAMPER_TRIGGERED } : {}),
        });
  const printerStatus = faults.noPaper
    ? 'NoPaper'
    : faults.paperJam
      ? 'PaperJam'
      : faults.printerOutOfOrder
        ? 'OutOfOrder'
        : faults.paperLow
          ? 'PaperLow'
          : 'OK';
  const poiStatus =
    poi.kind === 'mobile-sdk'
      ? { GlobalStatus: faults.maintenance ? 'Maintenance' : 'OK' }
      : {
          GlobalStatus: faults.maintenance ? 'Maintenance' : 'OK',
          CommunicationOKFlag: !faults.networkDown,
          ...(poi.printer ? { PrinterStatus: printerStatus } : {}),
        };
  const news = faults.unknownValues ? ADYEN_UNKNOWN_VALUES : undefined;
  return {
    SaleToPOIResponse: {
      MessageHeader: responseHeader(ask),
      DiagnosisResponse: {
        Response: {
          Result: 'Success',
          AdditionalResponse: news ? `${additional}&${news.additionalResponse}` : additional,
        },
        POIStatus: news
          ? { ...poiStatus, PrinterStatus: news.printerStatus, ...news.poiStatus }
          : poiStatus,
        ...(news ? news.diagnosisResponse : {}),
        ...(ask.hostDiagnosis
          ? { HostStatus: [{ AcquirerID: '0', IsReachableFlag: !faults.hostUnreachable }] }
          : {}),
      },
    },
  };
}
