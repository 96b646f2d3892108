import { type AdyenGlobalStatus, type AdyenPrinterStatus } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { formatAdditionalResponse } from './additional-response';
import { parseDiagnosisResponse, UNKNOWN_CONDITION } from './diagnosis-response';
import {
  ObjectSerializer,
  POIStatus,
  SaleToPOIResponse,
  TerminalApiResponse,
} from './terminal-api';
import { envelope, expectCode, HEADER, STEP_1_ADDITIONAL, STEP_1_OK } from './test/fixtures';

describe('parseDiagnosisResponse: success', () => {
  it('reads a step-1 terminal diagnosis', () => {
    const parsed = parseDiagnosisResponse(JSON.stringify(STEP_1_OK));
    expect(parsed).toMatchObject({
      kind: 'ok',
      result: 'Success',
      outcome: 'SUCCESS',
      header: {
        poiId: 'V400m-324688179',
        saleId: 'tillbus-dh',
        serviceId: 'NJCHT11000',
        protocolVersion: '3.0',
      },
      poiStatus: {
        globalStatus: 'OK',
        communicationOk: true,
        printerStatus: 'PaperLow',
        pedOk: true,
      },
      hostStatus: [],
      additionalResponse: {
        batteryLevel: 100,
        unconfirmedBatchCount: 0,
        firmwareVersion: 'adyen_v1_120p4',
        terminalId: 'V400m-324688179',
        p2pe: {},
        extra: {},
      },
      additionalResponseRaw: STEP_1_ADDITIONAL,
    });
    expect(parsed.poiStatus).toEqual({
      globalStatus: 'OK',
      communicationOk: true,
      printerStatus: 'PaperLow',
      pedOk: true,
    });
  });

  it('keeps the whole message as the library model, fields the view leaves out included', () => {
    const parsed = parseDiagnosisResponse(STEP_1_OK);
    expect(parsed.message).toBeInstanceOf(SaleToPOIResponse);
    expect(parsed.message.DiagnosisResponse?.LoggedSaleID).toEqual(['tillbus-dh']);
    expect(parsed.message.DiagnosisResponse?.POIStatus?.PrinterStatus).toBe(
      POIStatus.PrinterStatusEnum.PaperLow,
    );
  });

  it('reads a step-2 HostStatus array, with string or integer AcquirerID', () => {
    const parsed = parseDiagnosisResponse(
      envelope({
        Response: { Result: 'Success', AdditionalResponse: 'unconfirmedBatchCount=2' },
        POIStatus: { GlobalStatus: 'OK' },
        HostStatus: [
          { AcquirerID: 'Adyen', IsReachableFlag: false },
          { AcquirerID: 7, IsReachableFlag: true },
          { AcquirerID: '9' },
        ],
      }),
    );
    expect(parsed.hostStatus).toEqual([
      { acquirerId: 'Adyen', reachable: false },
      { acquirerId: '7', reachable: true },
      { acquirerId: '9' },
    ]);
  });

  it('accepts UTF-8 bytes and the library TerminalApiResponse model', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(STEP_1_OK));
    expect(parseDiagnosisResponse(bytes).kind).toBe('ok');
    const model = ObjectSerializer.deserialize(
      STEP_1_OK,
      'TerminalApiResponse',
    ) as TerminalApiResponse;
    expect(model).toBeInstanceOf(TerminalApiResponse);
    expect(parseDiagnosisResponse(model)).toMatchObject({
      kind: 'ok',
      poiStatus: { globalStatus: 'OK' },
    });
  });

  it('reads Partial as its own kind, with the data that came back', () => {
    const parsed = parseDiagnosisResponse(
      envelope({ Response: { Result: 'Partial', AdditionalResponse: 'batteryLevel=9%25' } }),
    );
    expect(parsed).toMatchObject({
      kind: 'partial',
      outcome: 'RETRYABLE',
      additionalResponse: { batteryLevel: 9 },
    });
  });

  it('reads a Mobile SDK diagnosis, which has no POIStatus', () => {
    const additional = formatAdditionalResponse({
      terminalId: 'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924',
      unconfirmedBatchCount: 1,
      sdkExpiry: new Date('2026-01-01T00:00:00Z'),
      attestationStatus: { raw: { status: 'Valid' } },
    });
    const parsed = parseDiagnosisResponse(
      envelope(
        {
          Response: { Result: 'Success', AdditionalResponse: additional },
          HostStatus: [{ AcquirerID: 'Adyen', IsReachableFlag: true }],
        },
        { ...HEADER, POIID: 'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924' },
      ),
    );
    expect(parsed.poiStatus).toBeUndefined();
    expect(parsed.additionalResponse?.attestationStatus).toEqual({
      status: 'Valid',
      raw: { status: 'Valid' },
    });
    expect(parsed.additionalResponse?.sdkExpiry?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});

const GLOBAL_STATUS_ROWS: AdyenGlobalStatus[] = ['OK', 'Busy', 'Maintenance', 'Unreachable'];
const PRINTER_STATUS_ROWS: AdyenPrinterStatus[] = [
  'OK',
  'PaperLow',
  'NoPaper',
  'PaperJam',
  'OutOfOrder',
];

describe('parseDiagnosisResponse: POIStatus values (protocols.md)', () => {
  it.each(GLOBAL_STATUS_ROWS)('GlobalStatus %s', (status) => {
    const parsed = parseDiagnosisResponse(
      envelope({ Response: { Result: 'Success' }, POIStatus: { GlobalStatus: status } }),
    );
    expect(parsed.poiStatus).toEqual({ globalStatus: status });
  });

  it.each(PRINTER_STATUS_ROWS)('PrinterStatus %s', (status) => {
    const parsed = parseDiagnosisResponse(
      envelope({
        Response: { Result: 'Success' },
        POIStatus: { GlobalStatus: 'OK', PrinterStatus: status },
      }),
    );
    expect(parsed.poiStatus?.printerStatus).toBe(status);
  });

  it.each(['Ok', 'ok', 'Offline'])('keeps an unknown GlobalStatus %s and reports it', (status) => {
    const parsed = parseDiagnosisResponse(
      envelope({ Response: { Result: 'Success' }, POIStatus: { GlobalStatus: status } }),
    );
    expect(parsed.kind).toBe('ok');
    expect(parsed.poiStatus).toEqual({ globalStatus: status });
    expect(parsed.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.POIStatus.GlobalStatus', value: status },
    ]);
  });

  it('refuses a GlobalStatus that is not a code at all', () => {
    expectCode(
      () =>
        parseDiagnosisResponse(
          envelope({ Response: { Result: 'Success' }, POIStatus: { GlobalStatus: 3 } }),
        ),
      'SCHEMA_INVALID',
    );
  });
});

/*
 * Adyen's own mock of a diagnosis answer: Adyen/adyen-java-api-library,
 * src/test/resources/mocks/terminal-api/sale-to-poi-response-diagnosis.json (LoggedSaleID is a field this lib does
 * not declare). Adyen's Node library serialises enum values "as is" (Adyen/adyen-node-api-library,
 * src/__tests__/terminalAPISerialization.spec.ts, "should serialize enums as is"), so a value it does not know
 * reaches us unchanged: the variants below put one into each enum Adyen may extend.
 */
const ADYEN_JAVA_DIAGNOSIS_MOCK = {
  SaleToPOIResponse: {
    MessageHeader: {
      ProtocolVersion: '3.0',
      SaleID: 'POSSystemID12345',
      MessageClass: 'Service',
      MessageCategory: 'Diagnosis',
      ServiceID: '0207111617',
      POIID: 'V400m-324688179',
      MessageType: 'Response',
    },
    DiagnosisResponse: {
      Response: { Result: 'Success' },
      LoggedSaleID: ['sale-1', 'sale-2'],
      POIStatus: { GlobalStatus: 'OK' },
    },
  },
};

interface MockDiagnosis {
  Response: Record<string, unknown>;
  POIStatus: Record<string, unknown>;
}

function withDiagnosis(patch: (diagnosis: MockDiagnosis) => void): object {
  const message = structuredClone(ADYEN_JAVA_DIAGNOSIS_MOCK);
  patch(message.SaleToPOIResponse.DiagnosisResponse as MockDiagnosis);
  return message;
}

describe("parseDiagnosisResponse: the tolerant-reader rule on Adyen's own mock", () => {
  it('reads the mock as it is, keeping the undeclared LoggedSaleID', () => {
    const parsed = parseDiagnosisResponse(ADYEN_JAVA_DIAGNOSIS_MOCK);
    expect(parsed).toMatchObject({
      kind: 'ok',
      poiStatus: { globalStatus: 'OK' },
      unrecognised: [],
    });
    expect(parsed.unknownFields).toEqual(['SaleToPOIResponse.DiagnosisResponse.LoggedSaleID']);
    expect(parsed.message.DiagnosisResponse?.LoggedSaleID).toEqual(['sale-1', 'sale-2']);
  });

  it('an unknown PrinterStatus keeps the GlobalStatus and is reported', () => {
    const parsed = parseDiagnosisResponse(
      withDiagnosis((d) => {
        d.POIStatus.PrinterStatus = 'CoverOpen';
        d.POIStatus.CashHandlingDevice = [{ CashHandlingOKFlag: true, Currency: 'EUR' }];
      }),
    );
    expect(parsed.kind).toBe('ok');
    expect(parsed.poiStatus).toEqual({ globalStatus: 'OK', printerStatus: 'CoverOpen' });
    expect(parsed.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.POIStatus.PrinterStatus', value: 'CoverOpen' },
    ]);
    expect(parsed.unknownFields).toContain(
      'SaleToPOIResponse.DiagnosisResponse.POIStatus.CashHandlingDevice',
    );
  });

  it('an unknown Result is read like Partial, with outcome UNKNOWN', () => {
    const parsed = parseDiagnosisResponse(withDiagnosis((d) => (d.Response.Result = 'Warning')));
    expect(parsed).toMatchObject({ kind: 'partial', result: 'Warning', outcome: 'UNKNOWN' });
    expect(parsed.poiStatus?.globalStatus).toBe('OK');
    expect(parsed.unrecognised.map((u) => u.value)).toEqual(['Warning']);
  });

  it('an unknown ErrorCondition of a Failure is a failure with a generic meaning', () => {
    const parsed = parseDiagnosisResponse(
      withDiagnosis((d) => (d.Response = { Result: 'Failure', ErrorCondition: 'Overheated' })),
    );
    expect(parsed).toMatchObject({
      kind: 'failure',
      errorCondition: 'Overheated',
      outcome: 'UNKNOWN',
      meaning: UNKNOWN_CONDITION.meaning,
    });
    expect(parsed.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.Response.ErrorCondition', value: 'Overheated' },
    ]);
  });

  it('reads a + in AdditionalResponse as a space (form encoding)', () => {
    const parsed = parseDiagnosisResponse(
      withDiagnosis(
        (d) =>
          (d.Response = {
            Result: 'Failure',
            ErrorCondition: 'UnreachableHost',
            AdditionalResponse: 'message=Terminal+is+not+reachable&errors=host%2Bdown',
          }),
      ),
    );
    expect(parsed.additionalResponse?.extra).toEqual({
      message: 'Terminal is not reachable',
      errors: 'host+down',
    });
  });
});
