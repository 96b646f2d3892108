import type { AntomDeviceStatusField, DiagnosisResponse } from '@tillbus/protocols-antom';
import {
  isAntomDiagnosisCode,
  type AntomDiagnosisCode,
  type DiagnosisOutcome,
  type HealthReason,
} from '@tillbus/result-codes';
import { describeReasons, normaliseReasons, type Findings } from './terminal-health';

/** Every Antom diagnosis code: the reason it means, and how the exchange counts (SUCCESS reads the flags). */
export const ANTOM_CODE_HEALTH: Record<
  AntomDiagnosisCode,
  { reason: HealthReason | null; outcome: DiagnosisOutcome }
> = {
  SUCCESS: { reason: null, outcome: 'ok' },
  PROCESS_FAIL: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
  INVALID_API: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  CLIENT_INVALID: { reason: 'AUTH_ERROR', outcome: 'auth_error' },
  INVALID_SIGNATURE: { reason: 'AUTH_ERROR', outcome: 'auth_error' },
  INVALID_ENCRPT_DATA: { reason: 'AUTH_ERROR', outcome: 'auth_error' },
  METHOD_NOT_SUPPORTED: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  UNKNOWN_EXCEPTION: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
};

/** What an `N` in each flag means. Antom cannot tell "no paper" from a disconnected printer. */
export const ANTOM_FLAG_HEALTH: Record<AntomDeviceStatusField, HealthReason> = {
  networkStatus: 'NETWORK_DOWN',
  printerStatus: 'PRINTER_FAULT',
  globalStatus: 'DEVICE_NOT_READY',
};

/**
 * A verified, schema-valid Antom diagnosis answer, as findings. Pure. `unrecognised` lists the values this version
 * does not know (readDiagnosisAnswer): they add UNRECOGNISED_VALUE, and the rest of the answer still counts.
 */
export function antomFindings(
  response: DiagnosisResponse,
  unrecognised: readonly { field: string; value: unknown }[] = [],
): Findings {
  const tolerated = unrecognised.map((u) => ({ ...u }));
  const unknownNote: HealthReason[] = tolerated.length > 0 ? ['UNRECOGNISED_VALUE'] : [];
  const unknownDetails = tolerated.length > 0 ? { unrecognised: tolerated } : {};
  const { result } = response;
  // The answer as received, fields this version does not know included (they are kept verbatim, never dropped).
  const raw = JSON.parse(JSON.stringify(response)) as Record<string, unknown>;
  const code = result.resultCode;
  const known = isAntomDiagnosisCode(code) ? ANTOM_CODE_HEALTH[code] : undefined;
  // A code the table lacks is judged by its status: S reads the flags, F and U are vendor errors.
  const row =
    known ??
    (result.resultStatus === 'S' ? ANTOM_CODE_HEALTH.SUCCESS : ANTOM_CODE_HEALTH.PROCESS_FAIL);
  if (row.reason !== null) {
    const message = result.resultMessage ?? code ?? result.resultStatus;
    const reasons = normaliseReasons([row.reason, ...unknownNote]);
    return {
      reasons,
      outcome: row.outcome,
      details: {
        message: describeReasons(reasons),
        error: `${code ?? result.resultStatus}: ${message}`,
        ...unknownDetails,
      },
      raw,
    };
  }
  const reasons = normaliseReasons([
    ...(Object.keys(ANTOM_FLAG_HEALTH) as AntomDeviceStatusField[])
      .filter((field) => response[field] === 'N')
      .map((field) => ANTOM_FLAG_HEALTH[field]),
    ...unknownNote,
  ]);
  const message = describeReasons(reasons);
  return {
    reasons,
    outcome: 'ok',
    details: { ...(message ? { message } : {}), ...unknownDetails },
    raw,
  };
}
