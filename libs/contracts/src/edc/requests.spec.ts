import fc from 'fast-check';
import { validatePlain } from '@tillbus/validation';
import { describe, expect, it } from 'vitest';
import { GetCommandRequest, SubmitAndWaitRequest, SubmitCommandRequest } from './requests';

describe('bus payloads', () => {
  it('never throw on any input: they validate or name the fields', () => {
    for (const schema of [SubmitCommandRequest, SubmitAndWaitRequest, GetCommandRequest]) {
      fc.assert(
        fc.property(fc.anything(), (input) => {
          const result = validatePlain(schema, input, { root: 'payload' });
          if (!result.ok) for (const v of result.violations) expect(v.field).toMatch(/^payload/);
        }),
      );
    }
  });

  it('accept a submit and refuse an id that would break a subject', () => {
    expect(
      validatePlain(SubmitCommandRequest, {
        deviceId: 'edc-1',
        requestId: 'a:1',
        commandName: 'Purchase',
        params: {},
      }).ok,
    ).toBe(true);
    for (const bad of [
      { deviceId: 'a.b' },
      { deviceId: 'heartbeat' },
      { requestId: 'a*' },
      { requestId: 'x'.repeat(129) },
    ]) {
      expect(
        validatePlain(SubmitCommandRequest, {
          deviceId: 'edc-1',
          requestId: 'r',
          commandName: 'Purchase',
          ...bad,
        }).ok,
      ).toBe(false);
    }
  });
});
