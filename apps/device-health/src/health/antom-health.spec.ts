import { describe, expect, it } from 'vitest';
import { parseDiagnosisResponse } from '@tillbus/protocols-antom';
import { ANTOM_DIAGNOSIS_CODES, ANTOM_DIAGNOSIS_CODE_NAMES } from '@tillbus/result-codes';
import { ANTOM_CODE_HEALTH, antomFindings } from './antom-health';
import { statusOf } from './terminal-health';

const answer = (body: object) => parseDiagnosisResponse(body);
const flags = { networkStatus: 'Y', printerStatus: 'Y', globalStatus: 'Y' };
const resultOf = (code: string) => ({
  resultStatus: ANTOM_DIAGNOSIS_CODES[code as keyof typeof ANTOM_DIAGNOSIS_CODES].status,
  resultCode: code,
});

// One row per result code of the vendor table: the reason it becomes, the status, the outcome class.
const codeRows = [
  ['SUCCESS', [], 'READY', 'ok'],
  ['PROCESS_FAIL', ['VENDOR_ERROR'], 'UNKNOWN', 'vendor_error'],
  ['INVALID_API', ['CONFIG_ERROR'], 'UNKNOWN', 'config_error'],
  ['CLIENT_INVALID', ['AUTH_ERROR'], 'UNKNOWN', 'auth_error'],
  ['INVALID_SIGNATURE', ['AUTH_ERROR'], 'UNKNOWN', 'auth_error'],
  ['INVALID_ENCRPT_DATA', ['AUTH_ERROR'], 'UNKNOWN', 'auth_error'],
  ['METHOD_NOT_SUPPORTED', ['CONFIG_ERROR'], 'UNKNOWN', 'config_error'],
  ['UNKNOWN_EXCEPTION', ['VENDOR_ERROR'], 'UNKNOWN', 'vendor_error'],
] as const;

// One row per combination of the three Y/N flags of a SUCCESS answer.
const flagRows = [
  ['Y', 'Y', 'Y', [], 'READY'],
  ['N', 'Y', 'Y', ['NETWORK_DOWN'], 'DOWN'],
  ['Y', 'N', 'Y', ['PRINTER_FAULT'], 'DEGRADED'],
  ['Y', 'Y', 'N', ['DEVICE_NOT_READY'], 'DOWN'],
  ['N', 'N', 'Y', ['NETWORK_DOWN', 'PRINTER_FAULT'], 'DOWN'],
  ['N', 'Y', 'N', ['DEVICE_NOT_READY', 'NETWORK_DOWN'], 'DOWN'],
  ['Y', 'N', 'N', ['DEVICE_NOT_READY', 'PRINTER_FAULT'], 'DOWN'],
  ['N', 'N', 'N', ['DEVICE_NOT_READY', 'NETWORK_DOWN', 'PRINTER_FAULT'], 'DOWN'],
] as const;

describe('antomFindings', () => {
  it('has a row for every code of the vendor table', () => {
    expect(Object.keys(ANTOM_CODE_HEALTH).sort()).toEqual([...ANTOM_DIAGNOSIS_CODE_NAMES].sort());
    expect(codeRows.map((r) => r[0]).sort()).toEqual([...ANTOM_DIAGNOSIS_CODE_NAMES].sort());
  });

  it.each(codeRows)('%s -> %j, %s, outcome %s', (code, reasons, status, outcome) => {
    const body =
      code === 'SUCCESS' ? { result: resultOf(code), ...flags } : { result: resultOf(code) };
    const findings = antomFindings(answer(body));
    expect(findings.reasons).toEqual(reasons);
    expect(statusOf(findings.reasons)).toBe(status);
    expect(findings.outcome).toBe(outcome);
    expect(findings.raw).toMatchObject({ result: resultOf(code) });
  });

  it.each(flagRows)(
    'network %s printer %s global %s -> %j, %s',
    (networkStatus, printerStatus, globalStatus, reasons, status) => {
      const findings = antomFindings(
        answer({ result: resultOf('SUCCESS'), networkStatus, printerStatus, globalStatus }),
      );
      expect(findings.reasons).toEqual(reasons);
      expect(statusOf(findings.reasons)).toBe(status);
      expect(findings.raw).toMatchObject({ networkStatus, printerStatus, globalStatus });
    },
  );

  it.each([
    ['S', [], 'ok'],
    ['F', ['VENDOR_ERROR'], 'vendor_error'],
    ['U', ['VENDOR_ERROR'], 'vendor_error'],
  ] as const)(
    'judges a code the table lacks by its status %s',
    (resultStatus, reasons, outcome) => {
      const body = { result: { resultStatus, resultCode: 'NEW_CODE' }, ...flags };
      const findings = antomFindings(answer(body));
      expect(findings.reasons).toEqual(reasons);
      expect(findings.outcome).toBe(outcome);
    },
  );

  it('explains a failure with the code and the vendor message', () => {
    const findings = antomFindings(
      answer({
        result: { resultStatus: 'F', resultCode: 'CLIENT_INVALID', resultMessage: 'bad SN' },
      }),
    );
    expect(findings.details.error).toBe('CLIENT_INVALID: bad SN');
    expect(findings.details.message).toMatch(/refused or could not be trusted/);
  });
});
