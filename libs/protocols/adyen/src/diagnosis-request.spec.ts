import { describe, expect, it } from 'vitest';
import {
  buildDiagnosisRequest,
  initialHostDiagnosisFlag,
  serializeTerminalApiRequest,
} from './diagnosis-request';
import { parsePoiId } from './poi-id';
import { TerminalApiRequest } from './terminal-api';

describe('buildDiagnosisRequest', () => {
  it.each([false, true])(
    'builds the documented header and HostDiagnosisFlag=%s',
    (hostDiagnosis) => {
      const request = buildDiagnosisRequest({
        saleId: 'tillbus-dh',
        poiId: 'V400m-324688179',
        serviceId: 'NJCHT11000',
        hostDiagnosis,
      });
      expect(request).toBeInstanceOf(TerminalApiRequest);
      expect(JSON.parse(serializeTerminalApiRequest(request))).toEqual({
        SaleToPOIRequest: {
          MessageHeader: {
            ProtocolVersion: '3.0',
            MessageClass: 'Service',
            MessageCategory: 'Diagnosis',
            MessageType: 'Request',
            ServiceID: 'NJCHT11000',
            SaleID: 'tillbus-dh',
            POIID: 'V400m-324688179',
          },
          DiagnosisRequest: { HostDiagnosisFlag: hostDiagnosis },
        },
      });
    },
  );

  it('accepts a Mobile SDK installation id as POIID', () => {
    const request = buildDiagnosisRequest({
      saleId: 'pos-1',
      poiId: 'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924',
      serviceId: 'A1',
      hostDiagnosis: true,
    });
    expect(request.SaleToPOIRequest.MessageHeader.POIID).toBe(
      'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924',
    );
  });

  it.each([
    [{ saleId: '', poiId: 'V400m-1', serviceId: 'A1', hostDiagnosis: false }, 'INVALID_ARGUMENT'],
    [
      { saleId: 's', poiId: 'V400m-1', serviceId: 'ABCDEFGHIJK', hostDiagnosis: false },
      'INVALID_ARGUMENT',
    ],
    [{ saleId: 's', poiId: 'V400m-1', serviceId: 'A-1', hostDiagnosis: false }, 'INVALID_ARGUMENT'],
    [
      { saleId: 's', poiId: 'V400m-1', serviceId: 'A1', hostDiagnosis: 'no' as unknown as boolean },
      'INVALID_ARGUMENT',
    ],
    [{ saleId: 's', poiId: 'V400m', serviceId: 'A1', hostDiagnosis: false }, 'INVALID_POIID'],
  ])('refuses %j with %s', (params, code) => {
    expect(() => buildDiagnosisRequest(params)).toThrow(expect.objectContaining({ code }));
  });
});

describe('initialHostDiagnosisFlag', () => {
  it.each([
    ['V400m-324688179', false],
    ['AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924', true],
  ])('%s starts with HostDiagnosisFlag=%s', (poiId, flag) => {
    expect(initialHostDiagnosisFlag(parsePoiId(poiId))).toBe(flag);
  });
});
