import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decryptRequest,
  decryptResponse,
  encryptRequest,
  encryptResponse,
} from '@tillbus/protocols-intella';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvelopeOpenError, openRequest, sealResponse } from './envelope-server';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const IV = 'abcdefgh12345678';
const PLAIN = {
  Header: {
    Method: '31800',
    ServiceType: 'SignOn',
    MchId: 'ACCOUNT001',
    TradeKey: 'a'.repeat(64),
    CreateTime: '20240101120000',
  },
  Data: '{"DeviceId":"01301234","Retry":"0"}',
};
const body = (wire: object) => Buffer.from(JSON.stringify(wire));
const dir = mkdtempSync(join(tmpdir(), 'intella-kat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof EnvelopeOpenError) return error.stage;
    throw error;
  }
  return 'OPENED';
}

describe('the simulator envelope against the protocol lib', () => {
  it("opens what the lib's client seals, and the client opens the answer", () => {
    const { wire, aesKey } = encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: IV });
    const opened = openRequest(body(wire), privateKey, [IV]);
    expect(opened.plain).toEqual(PLAIN);
    expect(opened.aesKey.equals(aesKey)).toBe(true);
    const answer = { Header: { StatusCode: '0000' }, Data: { ErrorCode: '000000' } };
    expect(decryptResponse(sealResponse(answer, opened.aesKey, IV), aesKey, IV)).toEqual(answer);
  });

  it("agrees byte for byte with the lib's server side", () => {
    const { wire } = encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: IV });
    const ours = openRequest(body(wire), privateKey, [IV]);
    const libs = decryptRequest(wire, { privateKey, iv: IV });
    expect(ours.plain).toEqual(libs.plain);
    expect(ours.aesKey.equals(libs.aesKey)).toBe(true);
    expect(sealResponse({ a: 1 }, ours.aesKey, IV)).toEqual(
      encryptResponse({ a: 1 }, ours.aesKey, IV),
    );
  });

  it('finds the right IV among several by the merchant it belongs to', () => {
    const { wire } = encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: IV });
    const opened = openRequest(
      body(wire),
      privateKey,
      ['zzzzzzzzzzzzzzzz', IV],
      (_plain, iv) => iv === IV,
    );
    expect(opened.iv).toBe(IV);
  });

  it.each([
    [
      'a key wrapped for another RSA key',
      () => encryptRequest(PLAIN, { intellaPublicKey: other.publicKey, iv: IV }).wire,
      'API_KEY',
    ],
    [
      'a wrong IV',
      () => encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: 'XXXXXXXXXXXXXXXX' }).wire,
      'REQUEST_JSON',
    ],
    [
      'a corrupted body (padding damaged)',
      () => {
        const { wire } = encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: IV });
        const bytes = Buffer.from(wire.Request, 'base64');
        // CBC: the penultimate block's last byte is XORed into the padding byte, so the padding is always invalid
        // (damaging the last block itself leaves valid padding once in about 256 keys).
        bytes[bytes.length - 17] ^= 0xff;
        return { ...wire, Request: bytes.toString('base64') };
      },
      'REQUEST_BODY',
    ],
    [
      'a truncated body',
      () => {
        const { wire } = encryptRequest(PLAIN, { intellaPublicKey: publicKey, iv: IV });
        return {
          ...wire,
          Request: Buffer.from(wire.Request, 'base64').subarray(0, 20).toString('base64'),
        };
      },
      'REQUEST_BODY',
    ],
    ['no ApiKey', () => ({ Request: 'AAAA' }), 'ENVELOPE'],
    ['ApiKey not Base64', () => ({ Request: 'AAAA', ApiKey: '***' }), 'ENVELOPE'],
  ])('refuses %s at stage %s', (_name, build, stage) => {
    expect(stageOf(() => openRequest(body(build()), privateKey, [IV]))).toBe(stage);
  });

  it('never throws anything but EnvelopeOpenError on arbitrary bodies', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.json().map((text) => new TextEncoder().encode(text)),
          fc
            .record({
              Request: fc.base64String(),
              ApiKey: fc.base64String({ minLength: 4, maxLength: 400 }),
            })
            .map((wire) => new TextEncoder().encode(JSON.stringify(wire))),
        ),
        (bytes) => {
          expect(() => openRequest(Buffer.from(bytes), privateKey, [IV])).toThrow(
            EnvelopeOpenError,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

const openssl = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).stdout.trim();

describe.skipIf(!openssl)(
  'the simulator envelope against OpenSSL (known answers from a third implementation)',
  () => {
    const run = (args: string[], input: Buffer | string) => {
      const result = spawnSync(openssl, args, { input });
      if (result.status !== 0) throw new Error(result.stderr.toString());
      return result.stdout;
    };
    /** `openssl enc` AES-128-CBC with this key and the IV, Base64 on one line. */
    const aes = (aesKey: Buffer, ...mode: string[]) => [
      'enc',
      ...mode,
      '-aes-128-cbc',
      '-K',
      aesKey.toString('hex'),
      '-iv',
      Buffer.from(IV).toString('hex'),
      '-base64',
      '-A',
    ];

    it('opens a request sealed by the openssl command line', () => {
      const aesKey = randomBytes(16);
      const publicPem = join(dir, 'intella.pub.pem');
      writeFileSync(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));
      const request = run(aes(aesKey), JSON.stringify(PLAIN)).toString();
      const apiKey = run(
        [
          'pkeyutl',
          '-encrypt',
          '-pubin',
          '-inkey',
          publicPem,
          '-pkeyopt',
          'rsa_padding_mode:pkcs1',
        ],
        aesKey.toString('base64'),
      ).toString('base64');
      const opened = openRequest(body({ Request: request, ApiKey: apiKey }), privateKey, [IV]);
      expect(opened.plain).toEqual(PLAIN);
      expect(opened.aesKey.equals(aesKey)).toBe(true);
    });

    it('seals an answer the openssl command line decrypts', () => {
      const aesKey = randomBytes(16);
      const sealed = sealResponse({ Header: { StatusCode: '0000' } }, aesKey, IV);
      const clear = run(aes(aesKey, '-d'), sealed.Response).toString();
      expect(JSON.parse(clear)).toEqual({ Header: { StatusCode: '0000' } });
    });
  },
);
