import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { describeViolations, validatePlain } from '@tillbus/validation';

/**
 * What the simulator can be told to do wrong. Each kind names the answer intella would give (protocols.md §6) or
 * the transport trouble it would cause.
 */
export const INTELLA_FAULTS = {
  'bad-trade-key': 'Header.StatusCode 7105 (TradeKey rejected)',
  'decrypt-fail': 'StatusCode 8003, unencrypted (as when intella cannot decrypt the request)',
  'system-error': 'StatusCode 9995 (system error: check the public key)',
  unavailable: 'StatusCode 9999 (service unavailable)',
  failed: 'StatusCode 9998 (failed)',
  ongoing: 'StatusCode 9997 (ongoing)',
  deactivated: 'StatusCode 7167 (device deactivated)',
  retry:
    'StatusCode 0000, Data.ErrorCode 000125 and Data.Retry "1": the client must resend with Retry 1',
  'card-read-error': 'StatusCode 0000, Data.ErrorCode 046201 and Data.Retry "1"',
  'reader-in-use': 'StatusCode 0000, Data.ErrorCode 900001',
  'dongle-mismatch': 'StatusCode 0000, Data.ErrorCode 900002',
  unsettled: 'StatusCode 0000, Data.ErrorCode 010117 (previous day not settled)',
  slow: 'answer normally after delayMs',
  'no-answer': 'accept the request and never answer (the client times out)',
  'corrupt-response':
    'an encrypted answer whose ciphertext is damaged (the client cannot decrypt it)',
  'http-500': 'HTTP 500 with a plain-text body',
  'bare-status': 'a body that is only the StatusCode 8003, as plain text (not JSON, not encrypted)',
  'escaped-response':
    'the normal answer, with every = of Response written as the literal \\u003d (as some intella answers carry it)',
  'unknown-values':
    'the normal answer, with Header and Data fields the project has never seen (a newer intella)',
  'unknown-status':
    'StatusCode 8099 (not in the code table) with Header and Data fields the project has never seen',
} as const;

/** The fields `unknown-values` and `unknown-status` add, and the StatusCode `unknown-status` answers. */
export const INTELLA_UNKNOWN_VALUES = {
  statusCode: '8099',
  header: { TraceId: 'sim-trace-1', ApiVersion: '2.1' },
  data: { CardType: 'NEWCARD', PromotionInfo: { points: 3 } },
} as const;

export type IntellaFaultKind = keyof typeof INTELLA_FAULTS;
export const INTELLA_FAULT_KINDS = Object.keys(INTELLA_FAULTS) as IntellaFaultKind[];

/** A scripted fault: which requests it hits, and how many times (unlimited when `times` is absent). */
export class IntellaFaultSpec {
  @IsIn(INTELLA_FAULT_KINDS)
  kind!: IntellaFaultKind;

  /** DeviceQuery, SignOn, Settlement, ...; every ServiceType when absent. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z]{1,32}$/)
  serviceType?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  mchId?: string;

  /** The request's Data.DeviceId; every reader when absent. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  deviceId?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  times?: number;

  /** For `slow`: how long to wait before answering. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  delayMs?: number;
}

export interface ActiveFault extends IntellaFaultSpec {
  id: number;
  /** How often it fired so far. */
  hits: number;
}

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

export function parseFaultSpec(input: unknown): IntellaFaultSpec {
  const result = validatePlain(IntellaFaultSpec, input, { root: 'fault' });
  if (!result.ok)
    throw new FaultSpecError(`invalid fault: ${describeViolations(result.violations)}`);
  return result.value;
}

const FLAG_KEYS: Record<string, keyof IntellaFaultSpec> = {
  kind: 'kind',
  service: 'serviceType',
  serviceType: 'serviceType',
  mch: 'mchId',
  mchId: 'mchId',
  device: 'deviceId',
  deviceId: 'deviceId',
  times: 'times',
  delay: 'delayMs',
  delayMs: 'delayMs',
};

/**
 * The CLI form: `unavailable`, or `kind=retry,device=01300001,times=1`, or `slow,delay=2000`. A bare first word
 * is the kind.
 */
export function parseFaultFlag(text: string): IntellaFaultSpec {
  const spec: Record<string, string> = {};
  text.split(',').forEach((part, index) => {
    const trimmed = part.trim();
    if (trimmed === '') return;
    const eq = trimmed.indexOf('=');
    if (eq < 0 && index === 0) {
      spec.kind = trimmed;
      return;
    }
    const key = FLAG_KEYS[trimmed.slice(0, eq)];
    if (eq < 0 || !key) {
      throw new FaultSpecError(
        `invalid fault "${text.slice(0, 80)}": use kind[,service=..][,mch=..][,device=..][,times=N][,delay=MS]`,
      );
    }
    spec[key] = trimmed.slice(eq + 1);
  });
  return parseFaultSpec(spec);
}

export interface FaultTarget {
  serviceType: string;
  mchId?: string;
  deviceId?: string;
}

/** The scripted faults, consumed in the order they were added. */
export class FaultBook {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: IntellaFaultSpec): ActiveFault {
    const fault: ActiveFault = { ...spec, id: this.nextId++, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  remove(id: number): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** The first fault that matches, counted as used; a fault whose `times` ran out is dropped. */
  take(target: FaultTarget): ActiveFault | undefined {
    const fault = this.faults.find(
      (candidate) =>
        (candidate.serviceType === undefined || candidate.serviceType === target.serviceType) &&
        (candidate.mchId === undefined || candidate.mchId === target.mchId) &&
        (candidate.deviceId === undefined || candidate.deviceId === target.deviceId),
    );
    if (!fault) return undefined;
    fault.hits++;
    if (fault.times !== undefined && fault.hits >= fault.times) this.remove(fault.id);
    return { ...fault };
  }
}
