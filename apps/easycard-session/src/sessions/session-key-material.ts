import { keyCheck, type KeyCheck } from './session-record';
import type { SessionRuntime } from './session-runtime';

/** This replica's view of key material: merchant fingerprints and whether sealed keys open here. */
export class SessionKeyMaterial {
  private readonly fingerprints = new Map<string, string>();
  /** Service time at this replica's start: keys sealed later come from replicas with newer key material. */
  readonly startedAt: number;
  /** Whether a record's sealed key opens with this replica's key material (false when it holds none). */
  readonly keyOpens: KeyCheck;

  constructor(runtime: SessionRuntime) {
    this.startedAt = runtime.clock.now();
    this.keyOpens = keyCheck(runtime.keyBox);
    for (const merchant of runtime.merchants.values()) {
      this.fingerprints.set(
        merchant.mchId,
        runtime.keyBox.fingerprint([
          merchant.mchId,
          merchant.url,
          merchant.tradeKey,
          merchant.iv,
          merchant.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        ]),
      );
    }
  }

  /** A keyed digest of the merchant's configuration: it changes when an operator fixes a secret. */
  fingerprint(mchId: string): string {
    return this.fingerprints.get(mchId) ?? 'unconfigured';
  }
}
