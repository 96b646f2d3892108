import {
  ADYEN_ERROR_CONDITION_NAMES,
  ADYEN_GLOBAL_STATUS_NAMES,
  ADYEN_PRINTER_STATUS_NAMES,
  ADYEN_RESULT_NAMES,
} from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import {
  MessageCategoryType,
  MessageClassType,
  MessageType,
  POIStatus,
  Response,
} from './terminal-api';
import { ErrorConditionType } from '@adyen/api-library/lib/src/typings/terminal/errorConditionType';
import { GlobalStatusType } from '@adyen/api-library/lib/src/typings/terminal/globalStatusType';
import { PrinterStatusType } from '@adyen/api-library/lib/src/typings/terminal/printerStatusType';
import { ResultType } from '@adyen/api-library/lib/src/typings/terminal/resultType';

/**
 * The wire values of one of the library's generated enums. It compiles `Ok = 'OK'` as `E.Ok = 'OK'; E['OK'] = 'Ok'`,
 * so the object holds both directions; a forward entry is always written before its reverse one.
 */
function wireValues(enumObject: object): string[] {
  const reverseKeys = new Set<string>();
  const values: string[] = [];
  for (const [key, value] of Object.entries(enumObject) as [string, string][]) {
    if (reverseKeys.has(key)) continue;
    values.push(value);
    if (value !== key) reverseKeys.add(value);
  }
  return values.sort();
}

// If an @adyen/api-library upgrade adds, drops or respells a member, these fail and the tables in
// libs/result-codes/src/adyen.ts must follow.
describe('our Adyen tables match @adyen/api-library 32.1.0', () => {
  it.each([
    ['Response.Result (ResultType)', ResultType, ADYEN_RESULT_NAMES],
    ['ErrorConditionType', ErrorConditionType, ADYEN_ERROR_CONDITION_NAMES],
    ['Response.ErrorConditionEnum', Response.ErrorConditionEnum, ADYEN_ERROR_CONDITION_NAMES],
    ['GlobalStatusType', GlobalStatusType, ADYEN_GLOBAL_STATUS_NAMES],
    ['PrinterStatusType', PrinterStatusType, ADYEN_PRINTER_STATUS_NAMES],
    ['POIStatus.PrinterStatusEnum', POIStatus.PrinterStatusEnum, ADYEN_PRINTER_STATUS_NAMES],
  ] as [string, object, readonly string[]][])('%s', (_, enumObject, ours) => {
    expect(wireValues(enumObject)).toEqual([...ours].sort());
  });

  it('reads the respelled members right (wire OK and WrongPIN)', () => {
    expect(wireValues(GlobalStatusType)).toContain('OK');
    expect(wireValues(GlobalStatusType)).not.toContain('Ok');
    expect(wireValues(ErrorConditionType)).toContain('WrongPIN');
    expect(wireValues(ErrorConditionType)).not.toContain('WrongPin');
  });

  it('has the header values the request uses', () => {
    expect([
      MessageClassType.Service,
      MessageCategoryType.Diagnosis,
      MessageType.Request,
      MessageType.Response,
    ]).toEqual(['Service', 'Diagnosis', 'Request', 'Response']);
  });
});
