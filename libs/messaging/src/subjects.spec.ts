import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allRequestSubjects,
  EVENT_SUBJECTS,
  InvalidSubjectTokenError,
  isSubjectToken,
  subjectToken,
} from './subjects';

describe('subjects', () => {
  it('every request subject is tillbus.<service>.<verb>', () => {
    for (const subject of allRequestSubjects())
      expect(subject).toMatch(/^tillbus\.[a-z-]+\.[a-z.-]+$/);
    expect(new Set(allRequestSubjects()).size).toBe(allRequestSubjects().length);
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
