import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allRequestSubjects,
  EVENT_SUBJECTS,
  InvalidSubjectTokenError,
  isSubjectToken,
  orderSubjectToken,
  SUBJECTS,
  subjectToken,
  easycardKeySubject,
} from './subjects';

describe('subjects', () => {
  it('asks for a reader key on its own subject, and refuses an id that would widen it', () => {
    expect(easycardKeySubject('EZ-0001')).toBe('tillbus.easycard.session.key.EZ-0001');
    expect(() => easycardKeySubject('*')).toThrow(/cannot be used in a subject/);
    expect(() => easycardKeySubject('a.b')).toThrow(/cannot be used in a subject/);
  });

  it('every request subject is tillbus.<service>.<verb>, some with one per-thing token (a wildcard)', () => {
    for (const subject of allRequestSubjects())
      expect(subject).toMatch(/^tillbus\.[a-z-]+\.[a-z.-]+(\.\*)?$/);
    expect(new Set(allRequestSubjects()).size).toBe(allRequestSubjects().length);
  });

  it('names the EasyCard subjects, the reader registration included', () => {
    expect(SUBJECTS.easycard).toEqual({
      sessionGet: 'tillbus.easycard.session.get',
      sessionList: 'tillbus.easycard.session.list',
      sessionKey: 'tillbus.easycard.session.key.*',
      signon: 'tillbus.easycard.signon',
      readersRegister: 'tillbus.easycard.readers.register',
    });
    expect(EVENT_SUBJECTS.easycardSession('01301234')).toBe(
      'tillbus.events.easycard.session.01301234',
    );
  });

  it('names a per-vendor diagnose subject for each device-health vendor', () => {
    expect(SUBJECTS.deviceHealth.diagnoseAntom).toBe('tillbus.device-health.diagnose.antom');
    expect(SUBJECTS.deviceHealth.diagnoseAdyen).toBe('tillbus.device-health.diagnose.adyen');
  });

  it('builds event subjects from ids', () => {
    expect(EVENT_SUBJECTS.terminalHealth('antom', 'SN123')).toBe(
      'tillbus.events.terminal.health.antom.SN123',
    );
    expect(EVENT_SUBJECTS.edc('dev-1', 'req-9')).toBe('tillbus.events.edc.dev-1.req-9');
  });

  it.each(['a.b', '*', '>', 'with space', '', 'x'.repeat(129), 'tab\t', 'new\nline'])(
    'refuses %j as a subject token, so an id can never widen a subject',
    (bad) => {
      expect(isSubjectToken(bad)).toBe(false);
      expect(() => subjectToken(bad)).toThrow(InvalidSubjectTokenError);
    },
  );

  it('accepts only tokens that are one literal subject level', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (isSubjectToken(s)) expect(s).not.toMatch(/[.*>\s]/);
      }),
    );
  });
});

// nats.js's own rule for KV keys.
const KV_KEY = /^[-/=.\w]+$/;

describe('orderSubjectToken', () => {
  it.each(['pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1', 'ABC-123', 'A-b_9', 'x'.repeat(128)])(
    'keeps the plain id %s as it is',
    (id) => {
      expect(orderSubjectToken(id)).toBe(id);
    },
  );

  it.each([
    'with.dot',
    'with space',
    'wild*card',
    'a>b',
    'x'.repeat(129),
    '주문-1',
    '=looks-hashed',
  ])('hashes %s to = and 43 base64url characters', (id) => {
    expect(orderSubjectToken(id)).toMatch(/^=[A-Za-z0-9_-]{43}$/);
  });

  it('hashes to = and the unpadded base64url SHA-256 of the UTF-8 bytes, as the POS docs say', () => {
    const id = 'pds.2109/2022 #1';
    expect(orderSubjectToken(id)).toBe(`=${createHash('sha256').update(id).digest('base64url')}`);
    expect(EVENT_SUBJECTS.order('accepted', orderSubjectToken('ABC-123'))).toBe(
      'tillbus.events.orders.accepted.ABC-123',
    );
  });

  it('is always a valid subject token and KV key, and never maps two ids to one token', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 255 }), (id) => {
        const token = orderSubjectToken(id);
        expect(isSubjectToken(token)).toBe(true);
        expect(KV_KEY.test(token) && !token.startsWith('.') && !token.endsWith('.')).toBe(true);
        expect(orderSubjectToken(id)).toBe(token);
        const previous = seen.get(token);
        if (previous !== undefined) expect(previous).toBe(id);
        seen.set(token, id);
      }),
      { numRuns: 2000 },
    );
  });
});
