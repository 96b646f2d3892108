import { EDC_COMMAND_ERRORS, type EdcCommandErrorCode } from '@tillbus/contracts';

/** Every code a submit can answer with, for the rejection metric's bounded label. */
export const REJECTION_CODES = [
  'PARAM_ILLEGAL',
  'NOT_FOUND',
  'UNAVAILABLE',
  ...(Object.keys(EDC_COMMAND_ERRORS) as EdcCommandErrorCode[]),
] as const;

const REJECTION_LABELS = new Set<string>(REJECTION_CODES);

/** The rejection metric's label for `code`: the code itself when it is one of ours, else OTHER. */
export function rejectionLabel(code: string): string {
  return REJECTION_LABELS.has(code) ? code : 'OTHER';
}
