import { EASYCARD_SESSION_FAILURES } from '@tillbus/result-codes';
import type { IntellaCallResult, IntellaClient } from '../vendor/intella-client';
import type { ResolvedMerchant } from '../vendor/merchants';
import type { SessionRecord } from './session-record';

/** One SignOn or Settlement call to intella for a reader; a merchant no longer configured fails without a call. */
export async function callIntellaForReader(
  client: IntellaClient,
  merchants: Map<string, ResolvedMerchant>,
  record: SessionRecord,
  serviceType: 'SignOn' | 'Settlement',
): Promise<IntellaCallResult> {
  const merchant = merchants.get(record.mchId);
  if (!merchant) {
    return {
      outcome: EASYCARD_SESSION_FAILURES.UNKNOWN_MERCHANT.outcome,
      reason: 'UNKNOWN_MERCHANT',
      data: null,
      tries: 0,
      retryLimitReached: false,
    };
  }
  return client.call(merchant, serviceType, { DeviceId: record.deviceId, Retry: '0' });
}
