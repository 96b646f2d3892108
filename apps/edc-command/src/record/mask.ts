import { redactKiccResult } from '@tillbus/protocols-kicc';

/** Free text a device or an operator wrote, as it may be stored and published: card numbers cut to the BIN, bounded. */
export function maskFreeText(text: string): string {
  return String((redactKiccResult({ message: text }) as { message?: unknown }).message ?? '').slice(
    0,
    512,
  );
}
