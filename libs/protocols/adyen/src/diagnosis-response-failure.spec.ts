import {
  ADYEN_ERROR_CONDITION_NAMES,
  type AdyenErrorCondition,
  type Outcome,
} from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { parseDiagnosisResponse, type ParsedDiagnosis } from './diagnosis-response';
import { envelope, expectCode } from './test/fixtures';

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
