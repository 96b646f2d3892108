import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ANTOM_PATHS } from './paths';
import { signRequest, signResponse, verifyRequest, verifyResponse } from './signature';
import { parseRequestTime } from './time';

/*
 * The official Antom SDKs' signing, rebuilt step by step from their source, against this lib:
 * - alipay/global-open-sdk-python, com/alipay/ams/api/tools/signature_tool.py: gen_sign_content is
 *   `http_method + " " + path + "\n" + client_id + "." + time_string + "." + content`; the signature is SHA256withRSA
 *   (PKCS1v15), base64-encoded, then `quote_plus`-encoded; `verify` first `unquote_plus`es it.
 * - com/alipay/ams/api/tools/date_tools.py: Request-Time is
 *   `datetime.fromtimestamp(int(time.time()), tz=timezone.utc).isoformat()`, e.g. `2026-12-07T04:08:55+00:00`.
 * - alipay/global-open-sdk-java, src/main/java/com/alipay/global/api/BaseAlipayClient.java: Request-Time is
 *   `DateTool.getCurrentTimeMillis()` (epoch milliseconds); tools/SignatureTool.java signs the same content and
 *   `URLEncoder.encode`s the Base64.
 * - Neither SDK compares a response's `response-time` with its clock (BaseAlipayClient.execute,
 *   DefaultAlipayClient.execute): they verify the signature over it, and use the answer.
 */

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CLIENT = 'SNK2024000001';
const PATH = ANTOM_PATHS.DIAGNOSIS;
const REQUEST_BODY = '{}';
const RESPONSE_BODY =
  '{"result":{"resultStatus":"S","resultCode":"SUCCESS","resultMessage":"success"},"networkStatus":"Y","printerStatus":"Y","globalStatus":"Y"}';
const NOW = Date.UTC(2026, 11, 7, 4, 8, 55);

/** Python's quote_plus and Java's URLEncoder on Base64 text: `+` `/` `=` escaped, nothing else in Base64 is. */
function formEncode(base64: string): string {
  return base64.replace(/[+/=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What an official SDK puts in the Signature header for this message. */
function sdkSignature(time: string, body: string): string {
  const content = `POST ${PATH}\n${CLIENT}.${time}.${body}`;
  const base64 = nodeSign('sha256', Buffer.from(content, 'utf8'), privateKey).toString('base64');
  return `algorithm=RSA256,keyVersion=1,signature=${formEncode(base64)}`;
}

const pythonTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

// [SDK, Request-Time as that SDK writes it for NOW]
const FORMS: [string, string][] = [
  ['Python SDK (ISO seconds, +00:00)', pythonTime(NOW)],
  ['Java SDK (epoch milliseconds)', String(NOW)],
];

describe('the official SDKs signing, both Request-Time forms', () => {
  it('writes the Python form exactly as the SDK does', () => {
    expect(pythonTime(NOW)).toBe('2026-12-07T04:08:55+00:00');
  });

  it.each(FORMS)('%s: a request reads as the same instant', (_sdk, time) => {
    expect(parseRequestTime(time)).toBe(NOW);
  });

  it.each(FORMS)('%s: signs the same bytes the SDK signs', (_sdk, time) => {
    // PKCS#1 v1.5 is deterministic, so the same content and key give the same signature.
    const ours = signRequest({
      path: PATH,
      clientId: CLIENT,
      requestTime: time,
      body: REQUEST_BODY,
      privateKey,
    });
    expect(ours['Request-Time']).toBe(time);
    expect(ours.Signature).toBe(sdkSignature(time, REQUEST_BODY));
  });

  it.each(FORMS)('%s: a request the SDK signed verifies', async (_sdk, time) => {
    const verified = await verifyRequest({
      path: PATH,
      headers: {
        'Request-Time': time,
        'client-id': CLIENT,
        Signature: sdkSignature(time, REQUEST_BODY),
      },
      rawBody: REQUEST_BODY,
      publicKey,
      now: NOW,
    });
    expect(verified).toMatchObject({ ok: true, requestTime: NOW, rawRequestTime: time });
  });

  it.each(FORMS)(
    '%s: a response signed 10 minutes off still verifies, with its skew',
    async (_sdk) => {
      const time = _sdk.startsWith('Python') ? pythonTime(NOW - 600_000) : String(NOW - 600_000);
      const verified = await verifyResponse({
        path: PATH,
        clientId: CLIENT,
        headers: {
          'response-time': time,
          'client-id': CLIENT,
          signature: sdkSignature(time, RESPONSE_BODY),
        },
        rawBody: RESPONSE_BODY,
        publicKey,
        now: NOW,
      });
      expect(verified).toMatchObject({ ok: true, skewMs: -600_000, outsideWindow: true });
    },
  );

  it.each(FORMS)('%s: a response we sign verifies with the SDK formula', (_sdk, time) => {
    const headers = signResponse({
      path: PATH,
      clientId: CLIENT,
      responseTime: time,
      body: RESPONSE_BODY,
      privateKey,
    });
    expect(headers.signature).toBe(sdkSignature(time, RESPONSE_BODY));
  });
});
