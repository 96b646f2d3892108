import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdyenProtocolError, parseDiagnosisResponse } from '@tillbus/protocols-adyen';
import { DIAGNOSIS_OUTCOMES } from '@tillbus/result-codes';
import { adyenFindings } from '../health/adyen-health';
import { statusOf } from '../health/terminal-health';
import { classify, MalformedAnswerError } from './adyen.adapter';

describe('classify', () => {
  const named = (name: string, message: string, statusCode?: number) => ({
    name,
    message,
    statusCode,
  });
  it.each([
    [new AdyenProtocolError('SCHEMA_INVALID', 'x'), 'malformed'],
    [new AdyenProtocolError('HEADER_MISMATCH', 'x'), 'malformed'],
    [new AdyenProtocolError('UNEXPECTED_MESSAGE', 'x'), 'vendor_error'],
    [new MalformedAnswerError('not JSON'), 'malformed'],
    [new SyntaxError('Unexpected token'), 'malformed'],
    [new TypeError("Cannot read properties of undefined (reading 'NexoBlob')"), 'malformed'],
    [named('NexoCryptoException', 'Hmac validation failed'), 'auth_error'],
    [named('InvalidSecurityKeyException', 'Invalid Security Key'), 'config_error'],
    [named('HttpClientException', 'HTTP Exception: 401', 401), 'auth_error'],
    [named('HttpClientException', 'HTTP Exception: 404', 404), 'config_error'],
    [named('HttpClientException', 'HTTP Exception: 500', 500), 'vendor_error'],
    [named('ApiException', 'connect ECONNREFUSED 127.0.0.1:9', 500), 'unreachable'],
    [named('ApiException', "Couldn't verify certificate", 500), 'config_error'],
    [named('ApiException', 'Invalid X-API-Key was used', 401), 'config_error'],
    [
      new Error('The connection was terminated while the message was still being sent'),
      'unreachable',
    ],
    ['a string', 'vendor_error'],
  ])('%o -> %s', (error, outcome) => {
    expect(classify(error)[0]).toBe(outcome);
  });
});

describe('an Adyen answer of any shape', () => {
  it('is parsed into findings or refused with an AdyenProtocolError, never anything else', () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.record({
          MessageHeader: fc.record({
            MessageClass: fc.constantFrom('Service', 'Device', 1),
            MessageCategory: fc.constantFrom('Diagnosis', 'Payment'),
            MessageType: fc.constantFrom('Response', 'Request'),
            POIID: fc.constantFrom('V400m-1', 'x'),
          }),
          DiagnosisResponse: fc.record(
            {
              Response: fc.record(
                {
                  Result: fc.constantFrom('Success', 'Failure', 'Partial', 'Nope'),
                  ErrorCondition: fc.constantFrom('Busy', 'DeviceOut', 'Nope'),
                  AdditionalResponse: fc.oneof(
                    fc.string(),
                    fc.constant(
                      'batteryLevel=5%25&unconfirmedBatchCount=2&tamperStatus=ARS_TRIGGERED',
                    ),
                  ),
                },
                { requiredKeys: ['Result'] },
              ),
              POIStatus: fc.record(
                {
                  GlobalStatus: fc.constantFrom(
                    'OK',
                    'Busy',
                    'Maintenance',
                    'Unreachable',
                    'Broken',
                  ),
                  PrinterStatus: fc.constantFrom('OK', 'NoPaper', 'PaperLow', 3),
                  CommunicationOKFlag: fc.oneof(fc.boolean(), value),
                },
                { requiredKeys: ['GlobalStatus'] },
              ),
              HostStatus: fc.array(
                fc.record({
                  AcquirerID: fc.oneof(fc.string(), fc.integer()),
                  IsReachableFlag: fc.oneof(fc.boolean(), value),
                }),
              ),
            },
            { requiredKeys: [] },
          ),
        }),
        fc.constantFrom('terminal', 'mobile-sdk') as fc.Arbitrary<'terminal' | 'mobile-sdk'>,
        (message, kind) => {
          let parsed;
          try {
            parsed = parseDiagnosisResponse({ SaleToPOIResponse: message });
          } catch (error) {
            expect(error).toBeInstanceOf(AdyenProtocolError);
            return;
          }
          const findings = adyenFindings({
            kind,
            first: parsed,
            nowMs: 0,
            batteryLowPercent: 20,
            sdkExpiryWarningMs: 0,
          });
          expect(DIAGNOSIS_OUTCOMES).toContain(findings.outcome);
          if (findings.reasons.includes('TAMPERED')) {
            expect(findings.reasons[0]).toBe('TAMPERED');
            expect(statusOf(findings.reasons)).toBe('DOWN');
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
