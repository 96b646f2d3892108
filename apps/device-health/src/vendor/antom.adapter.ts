import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  ANTOM_PATHS,
  readDiagnosisAnswer,
  signRequest,
  verifyResponse,
} from '@tillbus/protocols-antom';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from '../config';
import { antomFindings } from '../health/antom-health';
import {
  describeReasons,
  failedExchange,
  normaliseReasons,
  type Findings,
} from '../health/terminal-health';
import type { AntomConnection, TerminalRecord } from '../registry/terminal.dto';
import type { KeyObject } from 'node:crypto';
import { createAgents, HttpExchangeError, post, type HttpAnswer } from './http-post';
import { SecretStore, SecretUnavailableError } from './secret-store';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `POST /v2/device/diagnosis` with an empty body, signed; the answer's signature is verified before it is read. */
@Injectable()
export class AntomAdapter implements OnApplicationShutdown {
  private readonly agents;

  constructor(
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly secrets: SecretStore,
  ) {
    this.agents = createAgents(config.POLL_CONCURRENCY + 16);
  }

  onApplicationShutdown(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  async diagnose(terminal: TerminalRecord, signal: AbortSignal): Promise<Findings> {
    const connection = terminal.connection as AntomConnection;
    let privateKey;
    let publicKey;
    try {
      privateKey = this.secrets.privateKey(connection.privateKeyRef);
      publicKey = this.secrets.publicKey(connection.terminalPublicKeyRef);
    } catch (error) {
      if (error instanceof SecretUnavailableError)
        return failedExchange('config_error', error.message);
      throw error;
    }
    const url = diagnosisUrl(connection.baseUrl);
    const path = `${url.pathname}${url.search}`;
    const body = '{}';
    const headers = signRequest({
      path,
      clientId: terminal.vendorId,
      body,
      privateKey,
      keyVersion: connection.keyVersion ?? 1,
      requestTime: this.clock.now(),
      timeFormat: { format: this.config.ANTOM_TIME_FORMAT },
    });

    let answer;
    try {
      answer = await post(url, headers, body, this.agents, signal);
    } catch (error) {
      const exchange = error as HttpExchangeError;
      const outcome =
        exchange.kind === 'timeout'
          ? 'timeout'
          : exchange.kind === 'too_large'
            ? 'malformed'
            : 'unreachable';
      return failedExchange(outcome, exchange.message);
    }
    return readAntomAnswer(answer, {
      path,
      clientId: terminal.vendorId,
      publicKey,
      publicKeyRef: connection.terminalPublicKeyRef,
      now: this.clock.now(),
      maxSkewMs: this.config.ANTOM_MAX_SKEW_MS,
    });
  }
}

/**
 * What an Antom terminal's HTTP answer means. Never throws: garbage, wrong types, truncated or unsigned bodies
 * all become findings (UNKNOWN with a reason). The signature is checked before the content is trusted.
 */
export async function readAntomAnswer(
  answer: HttpAnswer,
  context: {
    path: string;
    clientId: string;
    publicKey: KeyObject;
    publicKeyRef: string;
    now: number;
    maxSkewMs: number;
  },
): Promise<Findings> {
  const raw = { httpStatus: answer.status };
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(answer.body));
  } catch {
    return failedExchange(
      answer.status >= 400 ? 'vendor_error' : 'malformed',
      `HTTP ${answer.status}: the answer is not UTF-8 JSON`,
      raw,
    );
  }
  let verified;
  try {
    verified = await verifyResponse({
      path: context.path,
      headers: answer.headers,
      rawBody: answer.body,
      publicKey: context.publicKey,
      now: context.now,
      clientId: context.clientId,
      maxSkewMs: context.maxSkewMs,
    });
  } catch (error) {
    return failedExchange(
      'config_error',
      `cannot verify with ${context.publicKeyRef}: ${(error as Error).message}`,
      raw,
    );
  }
  if (!verified.ok) {
    return failedExchange(
      'auth_error',
      `the answer's signature does not verify: ${verified.reason}`,
      raw,
    );
  }
  let findings: Findings;
  try {
    const answer = readDiagnosisAnswer(json);
    findings = antomFindings(answer.response, answer.unrecognised);
  } catch (error) {
    return failedExchange('malformed', (error as Error).message, raw);
  }
  return withClockSkew(findings, verified.skewMs, verified.outsideWindow);
}

/**
 * A correctly signed answer counts whatever its time (the official SDKs never check a response's time); a terminal
 * clock off by more than the window is reported as CLOCK_SKEW, since signed requests to it may start failing.
 */
function withClockSkew(findings: Findings, skewMs: number, outsideWindow: boolean): Findings {
  const measured = { ...findings, clockSkewMs: skewMs };
  if (!outsideWindow) return measured;
  const reasons = normaliseReasons([...findings.reasons, 'CLOCK_SKEW']);
  return {
    ...measured,
    reasons,
    details: { ...findings.details, message: describeReasons(reasons), clockSkewMs: skewMs },
  };
}

/** The base URL with the diagnosis path appended (a base path such as /terminal is kept). */
export function diagnosisUrl(baseUrl: string): URL {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${prefix}${ANTOM_PATHS.DIAGNOSIS}${base.search}`, base);
}
