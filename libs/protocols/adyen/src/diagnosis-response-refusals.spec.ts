import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDiagnosisResponse } from './diagnosis-response';
import { AdyenProtocolError } from './errors';
import { envelope, expectCode, HEADER, STEP_1_OK } from './test/fixtures';

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
