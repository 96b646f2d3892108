import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import Client from '@adyen/api-library/lib/src/client';
import Config, { EnvironmentEnum, RegionEnum } from '@adyen/api-library/lib/src/config';
import HttpURLConnectionClient from '@adyen/api-library/lib/src/httpClient/httpURLConnectionClient';
import TerminalCloudAPI from '@adyen/api-library/lib/src/services/terminalCloudAPI';
import TerminalLocalAPI from '@adyen/api-library/lib/src/services/terminalLocalAPI';
import type { IRequest } from '@adyen/api-library/lib/src/typings/requestOptions';
import {
  AdyenProtocolError,
  buildDiagnosisRequest,
  enableNexoKeyCache,
  initialHostDiagnosisFlag,
  needsHostDiagnosis,
  parseDiagnosisResponse,
  parsePoiId,
  type ParsedDiagnosis,
  type TerminalApiRequest,
  type TerminalApiResponse,
} from '@tillbus/protocols-adyen';
import type { DiagnosisOutcome } from '@tillbus/result-codes';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from '../config';
import { adyenFindings } from '../health/adyen-health';
import { failedExchange, type Findings } from '../health/terminal-health';
import type {
  AdyenCloudConnection,
  AdyenLocalConnection,
  TerminalRecord,
} from '../registry/terminal.dto';
import { SecretStore, SecretUnavailableError } from './secret-store';
import { ServiceIdAllocator, ServiceIdUnavailableError } from './service-ids';

type Failure = Exclude<DiagnosisOutcome, 'ok' | 'busy'>;
type Transport = (request: TerminalApiRequest) => Promise<TerminalApiResponse>;

/** The library requires an API key even for local terminals and sends it as X-API-Key; terminals do not check it. */
const LOCAL_PLACEHOLDER_API_KEY = 'tillbus-local-terminal';

export class MalformedAnswerError extends Error {
  override readonly name = 'MalformedAnswerError';
}

/**
 * The library's own HTTP client, with two changes only: the request goes to the registered terminal URL (the
 * library always builds `<endpoint>:8443/nexo/`), and an answer that is not JSON is reported as such instead of
 * being handed to the library (which logs it with console.warn and then fails on it).
 */
export class RegisteredEndpointHttpClient extends HttpURLConnectionClient {
  constructor(private readonly target?: string) {
    super();
  }

  override async request(
    endpoint: string,
    json: string | Buffer,
    config: Config,
    isApiRequired: boolean,
    requestOptions?: IRequest.Options,
  ): Promise<string> {
    const body = await super.request(
      this.target ?? endpoint,
      json,
      config,
      isApiRequired,
      requestOptions,
    );
    if (body === '') return body;
    try {
      JSON.parse(body);
    } catch {
      throw new MalformedAnswerError('the answer is not JSON');
    }
    return body;
  }
}

/**
 * Diagnosis through @adyen/api-library (TerminalLocalAPI with its Nexo encryption, or TerminalCloudAPI /sync) and
 * libs/protocols/adyen, with the two-step rule: a terminal with unconfirmed batches is asked again with
 * HostDiagnosisFlag=true. A Mobile SDK is asked once, with the flag set.
 */
@Injectable()
export class AdyenAdapter {
  constructor(
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly secrets: SecretStore,
    private readonly serviceIds: ServiceIdAllocator,
  ) {
    enableNexoKeyCache();
  }

  async diagnose(terminal: TerminalRecord, signal: AbortSignal): Promise<Findings> {
    const poi = parsePoiId(terminal.vendorId);
    let transport: Transport;
    try {
      transport = this.transport(terminal);
    } catch (error) {
      if (error instanceof SecretUnavailableError)
        return failedExchange('config_error', error.message);
      throw error;
    }
    const first = await this.exchange(transport, terminal.vendorId, initialHostDiagnosisFlag(poi));
    if ('reasons' in first) return first;
    let host: ParsedDiagnosis | { failed: string } | undefined;
    if (poi.kind === 'terminal' && needsHostDiagnosis(first) && !signal.aborted) {
      const second = await this.exchange(transport, terminal.vendorId, true);
      host = 'reasons' in second ? { failed: second.details.error ?? second.outcome } : second;
    }
    return adyenFindings({
      kind: poi.kind,
      first,
      host,
      nowMs: this.clock.now(),
      batteryLowPercent: this.config.BATTERY_LOW_PERCENT,
      sdkExpiryWarningMs: this.config.SDK_EXPIRY_WARNING_DAYS * 86_400_000,
    });
  }

  private async exchange(
    transport: Transport,
    poiId: string,
    hostDiagnosis: boolean,
  ): Promise<ParsedDiagnosis | Findings> {
    let serviceId: string;
    try {
      serviceId = await this.serviceIds.next();
    } catch (error) {
      if (error instanceof ServiceIdUnavailableError)
        return failedExchange('config_error', error.message);
      throw error;
    }
    const saleId = this.config.ADYEN_SALE_ID;
    const request = buildDiagnosisRequest({ saleId, poiId, serviceId, hostDiagnosis });
    try {
      const response = await transport(request);
      return parseDiagnosisResponse(response, { expect: { serviceId, saleId, poiId } });
    } catch (error) {
      const [outcome, message] = classify(error);
      return failedExchange(outcome, message);
    }
  }

  private transport(terminal: TerminalRecord): Transport {
    const timeout = this.config.DIAGNOSIS_TIMEOUT_MS;
    const environment = EnvironmentEnum[this.config.ADYEN_ENVIRONMENT];
    if (terminal.connection.kind === 'adyen-local') {
      const connection = terminal.connection as AdyenLocalConnection;
      const key = {
        AdyenCryptoVersion: 1,
        KeyIdentifier: connection.keyIdentifier,
        KeyVersion: connection.keyVersion,
        Passphrase: this.secrets.text(connection.passphraseRef),
      };
      const apiKey = connection.apiKeyRef
        ? this.secrets.text(connection.apiKeyRef)
        : LOCAL_PLACEHOLDER_API_KEY;
      const client = new Client(
        new Config({
          environment,
          apiKey,
          connectionTimeoutMillis: timeout,
          terminalApiLocalEndpoint: new URL(connection.url).origin,
          ...(this.config.ADYEN_TERMINAL_CA_FILE
            ? { certificatePath: this.config.ADYEN_TERMINAL_CA_FILE }
            : {}),
        }),
        new RegisteredEndpointHttpClient(connection.url),
      );
      const api = new TerminalLocalAPI(client);
      return (request) => api.request(request, key);
    }
    const connection = terminal.connection as AdyenCloudConnection;
    const client = new Client(
      new Config({
        environment,
        apiKey: this.secrets.text(connection.apiKeyRef),
        connectionTimeoutMillis: timeout,
        ...(this.config.ADYEN_REGION ? { region: RegionEnum[this.config.ADYEN_REGION] } : {}),
        ...(this.config.ADYEN_CLOUD_CA_FILE
          ? { certificatePath: this.config.ADYEN_CLOUD_CA_FILE }
          : {}),
      }),
      new RegisteredEndpointHttpClient(),
    );
    // The Client constructor sets the cloud endpoint from the environment; a configured stand-in replaces it
    // before TerminalCloudAPI reads it.
    if (this.config.ADYEN_CLOUD_ENDPOINT)
      client.config.terminalApiCloudEndpoint = this.config.ADYEN_CLOUD_ENDPOINT;
    const api = new TerminalCloudAPI(client);
    return (request) => api.sync(request);
  }
}

/** Every way the library or the parser can fail, as an outcome class and a message without secrets. */
export function classify(error: unknown): [Failure, string] {
  const name = (error as { name?: string } | null)?.name;
  const message = String((error as { message?: unknown } | null)?.message ?? error).slice(0, 300);
  const status = (error as { statusCode?: number } | null)?.statusCode;
  if (error instanceof AdyenProtocolError) {
    if (error.code === 'UNEXPECTED_MESSAGE')
      return ['vendor_error', `${error.code}: ${error.message}`];
    return ['malformed', `${error.code}: ${error.message}`];
  }
  if (error instanceof MalformedAnswerError || error instanceof SyntaxError)
    return ['malformed', message];
  if (name === 'NexoCryptoException') {
    return ['auth_error', `the answer does not decrypt or its HMAC does not verify (${message})`];
  }
  if (name === 'InvalidSecurityKeyException') return ['config_error', message];
  if (name === 'HttpClientException') {
    if (status === 401 || status === 403)
      return ['auth_error', `HTTP ${status}: refused (key, passphrase or API key)`];
    if (status === 404)
      return ['config_error', `HTTP 404: the terminal or endpoint does not know this request`];
    return ['vendor_error', `HTTP ${status ?? '?'}: ${message}`];
  }
  if (name === 'ApiException') {
    if (/X-API-Key/i.test(message)) return ['config_error', message];
    if (/certificate|self.signed|verify/i.test(message)) return ['config_error', `TLS: ${message}`];
    return ['unreachable', message];
  }
  if (/terminated while the message/i.test(message)) return ['unreachable', message];
  if (error instanceof TypeError) return ['malformed', message];
  return ['vendor_error', message];
}
