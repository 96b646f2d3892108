import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allRequestSubjects,
  EVENT_SUBJECTS,
  InvalidSubjectTokenError,
  isSubjectToken,
  SUBJECTS,
  subjectToken,
} from './subjects';

describe('subjects', () => {
  it('every request subject is tillbus.<service>.<verb>', () => {
    for (const subject of allRequestSubjects())
      expect(subject).toMatch(/^tillbus\.[a-z-]+\.[a-z.-]+$/);
    expect(new Set(allRequestSubjects()).size).toBe(allRequestSubjects().length);
  });

  it('names the EasyCard subjects, the reader registration included', () => {
    expect(SUBJECTS.easycard).toEqual({
      sessionGet: 'tillbus.easycard.session.get',
      sessionList: 'tillbus.easycard.session.list',
      sessionKey: 'tillbus.easycard.session.key',
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
