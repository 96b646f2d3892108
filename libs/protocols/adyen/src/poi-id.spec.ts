import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdyenProtocolError } from './errors';
import { formatTerminalPoiId, isPoiId, parsePoiId } from './poi-id';

const alphanumeric = fc.stringMatching(/^[A-Za-z0-9]{1,20}$/);

describe('parsePoiId', () => {
  it.each([
    ['V400m-324688179', 'V400m', '324688179'],
    ['P400Plus-275039202', 'P400Plus', '275039202'],
    ['e285p-805351529', 'e285p', '805351529'],
  ])('reads terminal %s', (poiId, model, serial) => {
    expect(parsePoiId(poiId)).toEqual({ kind: 'terminal', poiId, model, serial });
  });

  it.each(['AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924', 'ac2abbe8-edd8-4e2b-af45-8770fa2347dc'])(
    'reads Mobile SDK installation %s',
    (poiId) => {
      expect(parsePoiId(poiId)).toEqual({ kind: 'mobile-sdk', poiId, installationId: poiId });
    },
  );

  it.each([
    '',
    'V400m',
    'V400m-',
    '-123',
    'V400m-12-3',
    'V400m 123',
    'V400m-12.3',
    'AC2ABBE8-EDD8-4E2B-AF45.924',
    42,
    null,
  ])('refuses %s with INVALID_POIID', (value) => {
    expect(() => parsePoiId(value)).toThrow(expect.objectContaining({ code: 'INVALID_POIID' }));
    expect(isPoiId(value)).toBe(false);
  });

  it('round-trips a terminal POIID', () => {
    fc.assert(
      fc.property(alphanumeric, alphanumeric, (model, serial) => {
        expect(parsePoiId(formatTerminalPoiId({ model, serial }))).toEqual({
          kind: 'terminal',
          poiId: `${model}-${serial}`,
          model,
          serial,
        });
      }),
    );
  });

  it('returns or throws AdyenProtocolError for anything', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        try {
          parsePoiId(value);
        } catch (error) {
          expect(error).toBeInstanceOf(AdyenProtocolError);
        }
      }),
    );
  });
});

describe('formatTerminalPoiId', () => {
  it.each([
    { model: '', serial: '1' },
    { model: 'V400m', serial: '' },
    { model: 'V4-00m', serial: '1' },
  ])('refuses %j', (terminal) => {
    expect(() => formatTerminalPoiId(terminal)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
