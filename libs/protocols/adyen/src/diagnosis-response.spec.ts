import {
  ADYEN_ERROR_CONDITION_NAMES,
  type AdyenErrorCondition,
  type AdyenGlobalStatus,
  type AdyenPrinterStatus,
  type Outcome,
} from '@tillbus/result-codes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAdditionalResponse } from './additional-response';
import {
  parseDiagnosisResponse,
  UNKNOWN_CONDITION,
  type ParsedDiagnosis,
} from './diagnosis-response';
import { AdyenProtocolError } from './errors';
import {
  ObjectSerializer,
  POIStatus,
  SaleToPOIResponse,
  TerminalApiResponse,
} from './terminal-api';

const HEADER = {
  ProtocolVersion: '3.0',
  MessageClass: 'Service',
  MessageCategory: 'Diagnosis',
  MessageType: 'Response',
  ServiceID: 'NJCHT11000',
  SaleID: 'tillbus-dh',
  POIID: 'V400m-324688179',
};

function envelope(diagnosis: Record<string, unknown>, header: Record<string, unknown> = HEADER) {
  return { SaleToPOIResponse: { MessageHeader: header, DiagnosisResponse: diagnosis } };
}

const STEP_1_ADDITIONAL =
  'batteryLevel=100%25&unconfirmedBatchCount=0&firmwareVersion=adyen_v1_120p4&terminalId=V400m-324688179';

const STEP_1_OK = envelope({
  Response: { Result: 'Success', AdditionalResponse: STEP_1_ADDITIONAL },
  POIStatus: {
    GlobalStatus: 'OK',
    CommunicationOKFlag: true,
    PrinterStatus: 'PaperLow',
    PEDOKFlag: true,
  },
  LoggedSaleID: ['tillbus-dh'],
});

function expectCode(fn: () => unknown, code: string) {
  expect(fn).toThrow(expect.objectContaining({ name: 'AdyenProtocolError', code }));
}

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

// Every ErrorCondition of protocols.md, with the kind and outcome a diagnosis caller gets.
const ERROR_CONDITION_ROWS: [AdyenErrorCondition, ParsedDiagnosis['kind'], Outcome][] = [
  ['Aborted', 'failure', 'RETRYABLE'],
  ['Busy', 'busy', 'RETRYABLE'],
  ['Cancel', 'failure', 'RETRYABLE'],
  ['DeviceOut', 'failure', 'FAILED'],
  ['InsertedCard', 'failure', 'RETRYABLE'],
  ['InProgress', 'failure', 'RETRYABLE'],
  ['LoggedOut', 'failure', 'CONFIG_ERROR'],
  ['MessageFormat', 'failure', 'CONFIG_ERROR'],
  ['NotAllowed', 'failure', 'RETRYABLE'],
  ['NotFound', 'failure', 'CONFIG_ERROR'],
  ['PaymentRestriction', 'failure', 'FAILED'],
  ['Refusal', 'failure', 'FAILED'],
  ['UnavailableDevice', 'failure', 'FAILED'],
  ['UnavailableService', 'failure', 'CONFIG_ERROR'],
  ['InvalidCard', 'failure', 'FAILED'],
  ['UnreachableHost', 'failure', 'RETRYABLE'],
  ['WrongPIN', 'failure', 'FAILED'],
];

describe('parseDiagnosisResponse: Result=Failure', () => {
  it('covers every ErrorCondition', () => {
    expect(ERROR_CONDITION_ROWS.map(([code]) => code).sort()).toEqual(
      [...ADYEN_ERROR_CONDITION_NAMES].sort(),
    );
  });

  it.each(ERROR_CONDITION_ROWS)('ErrorCondition %s -> %s, %s', (condition, kind, outcome) => {
    const parsed = parseDiagnosisResponse(
      envelope({ Response: { Result: 'Failure', ErrorCondition: condition } }),
    );
    expect(parsed.kind).toBe(kind);
    expect(parsed.outcome).toBe(outcome);
    if (parsed.kind === 'busy' || parsed.kind === 'failure')
      expect(parsed.errorCondition).toBe(condition);
    if (parsed.kind === 'failure') expect(parsed.meaning.length).toBeGreaterThan(10);
  });

  it('reads the seed busy answer', () => {
    const parsed = parseDiagnosisResponse(
      envelope({ Response: { Result: 'Failure', ErrorCondition: 'Busy' } }),
    );
    expect(parsed).toMatchObject({
      kind: 'busy',
      errorCondition: 'Busy',
      outcome: 'RETRYABLE',
      hostStatus: [],
    });
  });

  it('keeps a MessageFormat failure readable, key=value form', () => {
    const AdditionalResponse =
      'errors=At%20SaleToPOIRequest.DiagnosisRequest%2c%20field%20X%3a%20Missing';
    const parsed = parseDiagnosisResponse(
      envelope({
        Response: { Result: 'Failure', ErrorCondition: 'MessageFormat', AdditionalResponse },
      }),
    );
    expect(parsed).toMatchObject({
      kind: 'failure',
      outcome: 'CONFIG_ERROR',
      additionalResponse: {
        extra: { errors: 'At SaleToPOIRequest.DiagnosisRequest, field X: Missing' },
      },
      additionalResponseRaw: AdditionalResponse,
    });
  });

  it('decodes a Base64 JSON AdditionalResponse on a failure', () => {
    const AdditionalResponse = Buffer.from(
      JSON.stringify({ message: 'busy with payment' }),
    ).toString('base64');
    const parsed = parseDiagnosisResponse(
      envelope({
        Response: { Result: 'Failure', ErrorCondition: 'InProgress', AdditionalResponse },
      }),
    );
    expect(parsed).toMatchObject({
      kind: 'failure',
      additionalResponseJson: { message: 'busy with payment' },
    });
    expect(parsed.additionalResponse).toBeUndefined();
  });

  it('still reports a failure whose AdditionalResponse cannot be decoded', () => {
    const parsed = parseDiagnosisResponse(
      envelope({
        Response: { Result: 'Failure', ErrorCondition: 'DeviceOut', AdditionalResponse: 'a=%zz' },
      }),
    );
    expect(parsed).toMatchObject({
      kind: 'failure',
      errorCondition: 'DeviceOut',
      additionalResponseRaw: 'a=%zz',
    });
    expect(parsed.additionalResponse).toBeUndefined();
  });

  it('refuses a Failure without ErrorCondition', () => {
    expectCode(
      () => parseDiagnosisResponse(envelope({ Response: { Result: 'Failure' } })),
      'SCHEMA_INVALID',
    );
  });
});

describe('parseDiagnosisResponse: refusals', () => {
  it.each([
    ['not json', 'MALFORMED_JSON'],
    ['', 'MALFORMED_JSON'],
    ['[]', 'SCHEMA_INVALID'],
    ['null', 'SCHEMA_INVALID'],
    ['{}', 'SCHEMA_INVALID'],
    ['{"SaleToPOIResponse": 1}', 'SCHEMA_INVALID'],
    ['{"SaleToPOIResponse": {}}', 'SCHEMA_INVALID'],
  ])('%s -> %s', (text, code) => {
    expectCode(() => parseDiagnosisResponse(text), code);
  });

  it('refuses bytes that are not UTF-8', () => {
    expectCode(() => parseDiagnosisResponse(new Uint8Array([0x7b, 0xff, 0x7d])), 'MALFORMED_JSON');
  });

  it.each([
    ['a Result that is not a code', { Response: { Result: true } }],
    [
      'an ErrorCondition that is not a code',
      { Response: { Result: 'Failure', ErrorCondition: 1 } },
    ],
    ['a non-string AdditionalResponse', { Response: { Result: 'Success', AdditionalResponse: 5 } }],
    [
      'POIStatus as an array',
      { Response: { Result: 'Success' }, POIStatus: [{ GlobalStatus: 'OK' }] },
    ],
    [
      'a non-boolean flag',
      {
        Response: { Result: 'Success' },
        POIStatus: { GlobalStatus: 'OK', CommunicationOKFlag: 'true' },
      },
    ],
    [
      'HostStatus not an array',
      { Response: { Result: 'Success' }, HostStatus: { AcquirerID: 'x' } },
    ],
    [
      'HostStatus without AcquirerID',
      { Response: { Result: 'Success' }, HostStatus: [{ IsReachableFlag: true }] },
    ],
    [
      'a nested HostStatus array',
      { Response: { Result: 'Success' }, HostStatus: [[{ AcquirerID: 'x' }]] },
    ],
    ['no Response', { POIStatus: { GlobalStatus: 'OK' } }],
    ['a null POIStatus', { Response: { Result: 'Success' }, POIStatus: null }],
    ['a null ErrorCondition', { Response: { Result: 'Failure', ErrorCondition: null } }],
    ['a null AdditionalResponse', { Response: { Result: 'Success', AdditionalResponse: null } }],
  ])('refuses %s with SCHEMA_INVALID', (_, diagnosis) => {
    expectCode(() => parseDiagnosisResponse(envelope(diagnosis)), 'SCHEMA_INVALID');
  });

  it('refuses a null DiagnosisResponse or header field', () => {
    expectCode(
      () =>
        parseDiagnosisResponse({
          SaleToPOIResponse: { MessageHeader: HEADER, DiagnosisResponse: null },
        }),
      'SCHEMA_INVALID',
    );
    expectCode(
      () =>
        parseDiagnosisResponse(
          envelope({ Response: { Result: 'Success' } }, { ...HEADER, SaleID: null }),
        ),
      'SCHEMA_INVALID',
    );
  });

  it('refuses a malformed AdditionalResponse on a success', () => {
    expectCode(
      () =>
        parseDiagnosisResponse(
          envelope({ Response: { Result: 'Success', AdditionalResponse: 'batteryLevel=lots' } }),
        ),
      'MALFORMED_ADDITIONAL_RESPONSE',
    );
  });

  it.each([
    ['MessageCategory', { ...HEADER, MessageCategory: 'Payment' }],
    ['MessageType', { ...HEADER, MessageType: 'Request' }],
    ['MessageClass', { ...HEADER, MessageClass: 'Device' }],
  ])('refuses a wrong %s with UNEXPECTED_MESSAGE', (field, header) => {
    expect(() =>
      parseDiagnosisResponse(envelope({ Response: { Result: 'Success' } }, header)),
    ).toThrow(
      expect.objectContaining({ code: 'UNEXPECTED_MESSAGE', details: { fields: [field] } }),
    );
  });

  it('refuses a response with another body', () => {
    const other = { SaleToPOIResponse: { MessageHeader: HEADER, PaymentResponse: {} } };
    expectCode(() => parseDiagnosisResponse(other), 'UNEXPECTED_MESSAGE');
  });

  it('reports an EventNotification answer as UNEXPECTED_MESSAGE with its event', () => {
    const reject = {
      SaleToPOIRequest: {
        MessageHeader: {
          ...HEADER,
          MessageClass: 'Event',
          MessageCategory: 'Event',
          MessageType: 'Notification',
        },
        EventNotification: {
          EventToNotify: 'Reject',
          EventDetails: 'message=Did+not+receive+a+response+from+the+POI.',
        },
      },
    };
    expect(() => parseDiagnosisResponse(reject)).toThrow(
      expect.objectContaining({
        code: 'UNEXPECTED_MESSAGE',
        details: {
          eventToNotify: 'Reject',
          eventDetails: 'message=Did+not+receive+a+response+from+the+POI.',
        },
      }),
    );
  });

  it("reads Adyen's own EventNotification mock, whatever else it carries", () => {
    // Adyen/adyen-java-api-library, src/test/resources/mocks/terminal-api/event-notification.json
    const adyenMock = {
      TimeStamp: '2026-03-27T10:30:00Z',
      EventToNotify: 'BeginMaintenance',
      EventDetails: 'Maintenance window started',
      MaintenanceRequiredFlag: true,
      CustomerLanguage: 'en',
      DisplayOutput: {
        Device: 'CustomerDisplay',
        InfoQualify: 'Display',
        OutputContent: {
          OutputFormat: 'Text',
          OutputText: [{ Text: 'System maintenance in progress' }],
        },
      },
    };
    const event = {
      SaleToPOIRequest: {
        MessageHeader: { ...HEADER, MessageClass: 'Event', MessageCategory: 'Event' },
        EventNotification: adyenMock,
      },
    };
    expect(() => parseDiagnosisResponse(event)).toThrow(
      expect.objectContaining({
        code: 'UNEXPECTED_MESSAGE',
        details: { eventToNotify: 'BeginMaintenance', eventDetails: 'Maintenance window started' },
      }),
    );
  });

  it('refuses a response that does not echo the request header', () => {
    const expectHeader = {
      serviceId: 'NJCHT11000',
      saleId: 'tillbus-dh',
      poiId: 'V400m-324688179',
    };
    expect(parseDiagnosisResponse(STEP_1_OK, { expect: expectHeader }).kind).toBe('ok');
    expect(() =>
      parseDiagnosisResponse(STEP_1_OK, { expect: { ...expectHeader, serviceId: 'OTHER' } }),
    ).toThrow(
      expect.objectContaining({ code: 'HEADER_MISMATCH', details: { fields: ['ServiceID'] } }),
    );
    const noServiceId = envelope(
      { Response: { Result: 'Success' } },
      { ...HEADER, ServiceID: undefined },
    );
    expect(() => parseDiagnosisResponse(noServiceId, { expect: expectHeader })).toThrow(
      expect.objectContaining({ code: 'HEADER_MISMATCH', details: { fields: ['ServiceID'] } }),
    );
  });

  it('refuses objects that are not JSON data', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectCode(() => parseDiagnosisResponse(cyclic), 'SCHEMA_INVALID');
    expectCode(() => parseDiagnosisResponse({ n: 1n }), 'SCHEMA_INVALID');
  });
});

describe('parseDiagnosisResponse fuzz', () => {
  const onlyTypedErrors = (input: unknown) => {
    try {
      parseDiagnosisResponse(input as string);
    } catch (error) {
      expect(error).toBeInstanceOf(AdyenProtocolError);
    }
  };

  it('arbitrary strings, bytes, JSON and values return or throw AdyenProtocolError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), onlyTypedErrors), { numRuns: 300 });
    fc.assert(fc.property(fc.uint8Array(), onlyTypedErrors), { numRuns: 300 });
    fc.assert(fc.property(fc.json(), onlyTypedErrors), { numRuns: 300 });
    fc.assert(fc.property(fc.anything(), onlyTypedErrors), { numRuns: 300 });
  });

  it('valid responses with arbitrary values swapped into any field return or throw AdyenProtocolError', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('Success', 'Failure', 'Busy', 'OK', undefined),
    );
    const path = fc.constantFrom(
      ['SaleToPOIResponse'],
      ['SaleToPOIResponse', 'MessageHeader'],
      ['SaleToPOIResponse', 'MessageHeader', 'POIID'],
      ['SaleToPOIResponse', 'MessageHeader', 'MessageType'],
      ['SaleToPOIResponse', 'DiagnosisResponse'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'Response'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'Response', 'Result'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'Response', 'ErrorCondition'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'Response', 'AdditionalResponse'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'POIStatus'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'POIStatus', 'GlobalStatus'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'HostStatus'],
      ['SaleToPOIResponse', 'DiagnosisResponse', 'LoggedSaleID'],
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(path, value), { minLength: 1, maxLength: 3 }), (swaps) => {
        const message = structuredClone(STEP_1_OK) as Record<string, unknown>;
        for (const [keys, replacement] of swaps) {
          let node: unknown = message;
          for (const key of keys.slice(0, -1))
            node = (node as Record<string, unknown> | undefined)?.[key];
          if (typeof node === 'object' && node !== null)
            (node as Record<string, unknown>)[keys[keys.length - 1]] = replacement;
        }
        onlyTypedErrors(message);
        onlyTypedErrors(JSON.stringify(message));
      }),
      { numRuns: 500 },
    );
  });
});
