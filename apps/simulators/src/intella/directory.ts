import { randomBytes } from 'node:crypto';

const READER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface SimMerchantOptions {
  mchId: string;
  /** The trade password; the TradeKey the client sends must be its lower-case hex SHA-256. */
  tradePassword: string;
  /** The 16-character IV intella hands this merchant; the simulator's default IV when absent. */
  iv?: string;
  /** Reader ids bound to the merchant (DeviceQuery lists them). */
  readers?: string[];
  /** Or: generate this many, `0130xxxx` style, numbered from `readerStart` (default 1). */
  readerCount?: number;
  readerStart?: number;
}

export interface SimReaderStats {
  deviceId: string;
  mchId: string;
  signOnRequests: number;
  signOns: number;
  settlementRequests: number;
  settlements: number;
  /** Requests that carried a Retry other than "0". */
  retries: number;
  lastSignOnAt?: number;
  lastSettledAt?: number;
}

export interface ReaderState extends SimReaderStats {
  keys: string[];
  /** Business day (yyyy-MM-dd, Taiwan) of the first work after the last settlement. */
  unsettledSince?: string;
}

export interface MerchantState {
  mchId: string;
  tradePassword: string;
  iv: string;
}

export function generateReaderIds(count: number, start = 1): string[] {
  return Array.from({ length: count }, (_, i) => `0130${String(start + i).padStart(4, '0')}`);
}

/** The merchants intella knows, with their IVs, and the readers bound to each with their counts and keys. */
export class MerchantDirectory {
  readonly merchants = new Map<string, MerchantState>();
  readonly readers = new Map<string, ReaderState>();
  /** Every IV in use, once each: a request is opened under the one that works. */
  readonly ivs: string[];

  /** `defaultIv` (random when absent) serves merchants without their own. */
  constructor(merchants: readonly SimMerchantOptions[], defaultIv?: string) {
    const fallbackIv = checkIv(defaultIv ?? randomIv(), 'iv');
    for (const merchant of merchants) {
      if (this.merchants.has(merchant.mchId))
        throw new Error(`merchant ${merchant.mchId} is listed twice`);
      this.merchants.set(merchant.mchId, {
        mchId: merchant.mchId,
        tradePassword: merchant.tradePassword,
        iv: checkIv(merchant.iv ?? fallbackIv, `merchant ${merchant.mchId}`),
      });
      const ids = [
        ...(merchant.readers ?? []),
        ...generateReaderIds(merchant.readerCount ?? 0, merchant.readerStart ?? 1),
      ];
      for (const id of ids) this.addReader(merchant.mchId, id);
    }
    this.ivs = [...new Set([...this.merchants.values()].map((merchant) => merchant.iv))];
  }

  addReader(mchId: string, deviceId: string): void {
    if (!this.merchants.has(mchId)) throw new Error(`unknown merchant ${mchId}`);
    if (!READER_ID.test(deviceId)) throw new Error(`reader id ${deviceId.slice(0, 64)} is invalid`);
    if (this.readers.has(deviceId)) throw new Error(`reader ${deviceId} already exists`);
    this.readers.set(deviceId, {
      deviceId,
      mchId,
      signOnRequests: 0,
      signOns: 0,
      settlementRequests: 0,
      settlements: 0,
      retries: 0,
      keys: [],
    });
  }

  removeReader(deviceId: string): boolean {
    return this.readers.delete(deviceId);
  }

  /** The readers' ids bound to the merchant, as DeviceQuery lists them. */
  readerIdsOf(mchId: string): string[] {
    return [...this.readers.values()]
      .filter((candidate) => candidate.mchId === mchId)
      .map((candidate) => candidate.deviceId);
  }

  readerStats(): SimReaderStats[] {
    return [...this.readers.values()].map((reader) => {
      const { keys: _keys, unsettledSince: _since, ...stats } = reader;
      return { ...stats };
    });
  }

  issuedKeys(): Record<string, string[]> {
    return Object.fromEntries(
      [...this.readers.values()].map((reader) => [reader.deviceId, [...reader.keys]]),
    );
  }

  signOnRequests(): number {
    return [...this.readers.values()].reduce((sum, reader) => sum + reader.signOnRequests, 0);
  }

  resetReaderCounts(): void {
    for (const reader of this.readers.values()) {
      reader.signOnRequests = 0;
      reader.signOns = 0;
      reader.settlementRequests = 0;
      reader.settlements = 0;
      reader.retries = 0;
    }
  }

  ivByMerchant(): Record<string, string> {
    return Object.fromEntries([...this.merchants.values()].map((m) => [m.mchId, m.iv]));
  }
}

function randomIv(): string {
  return randomBytes(12).toString('base64').replace(/[+/=]/g, 'x').slice(0, 16);
}

function checkIv(iv: string, what: string): string {
  if (Buffer.byteLength(iv, 'utf8') !== 16)
    throw new Error(`${what}: the IV must be 16 bytes (16 ASCII characters)`);
  return iv;
}
