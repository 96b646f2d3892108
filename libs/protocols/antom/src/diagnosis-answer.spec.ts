import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDiagnosisAnswer } from './diagnosis-answer';
import { AntomProtocolError } from './errors';

const RESULT = { resultStatus: 'S', resultCode: 'SUCCESS', resultMessage: 'success' };

describe('readDiagnosisAnswer (tolerant reading of a terminal answer)', () => {
  it('keeps unknown fields verbatim and names them', () => {
    const answer = readDiagnosisAnswer({
      result: { ...RESULT, traceId: 'x' },
      networkStatus: 'Y',
      printerStatus: 'Y',
      globalStatus: 'Y',
      batteryStatus: { level: 80 },
    });
    expect(answer.unknownFields.slice().sort()).toEqual(['batteryStatus', 'result.traceId']);
    expect((answer.response as unknown as Record<string, unknown>).batteryStatus).toEqual({
      level: 80,
    });
    expect(answer.unrecognised).toEqual([]);
  });

  it('keeps an unknown flag or status as received and reports it', () => {
    const answer = readDiagnosisAnswer({
      result: { ...RESULT, resultStatus: 'P' },
      networkStatus: 'Y',
      printerStatus: 'LOW',
    });
    expect(answer.response.printerStatus).toBe('LOW');
    expect(answer.unrecognised).toEqual([
      { field: 'result.resultStatus', value: 'P' },
      { field: 'printerStatus', value: 'LOW' },
    ]);
  });

  it.each([
    ['no result', { networkStatus: 'Y' }],
    ['a flag missing from an S answer', { result: RESULT, networkStatus: 'Y', printerStatus: 'Y' }],
    [
      'a flag of the wrong type',
      { result: RESULT, networkStatus: 1, printerStatus: 'Y', globalStatus: 'Y' },
    ],
    [
      'a resultCode over 64 characters',
      { result: { resultStatus: 'F', resultCode: 'X'.repeat(65) } },
    ],
    ['an array', []],
  ])('refuses %s with SCHEMA_INVALID', (_what, json) => {
    expect(() => readDiagnosisAnswer(json)).toThrow(
      expect.objectContaining({ name: 'AntomProtocolError', code: 'SCHEMA_INVALID' }),
    );
  });

  it('returns or throws AntomProtocolError, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          readDiagnosisAnswer(json);
        } catch (error) {
          expect(error).toBeInstanceOf(AntomProtocolError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
