import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { BridgeDispatch } from './bridge-dispatch';

/** Sending a command again while its record cannot be read: the node edc-command is on is cut from the others. */
describe('BridgeDispatch.resendUntilAcked', () => {
  it('keeps sending while the record is unreadable, and says so when notAfter passes without an ack', async () => {
    const clock = new ManualClock();
    const requests: string[] = [];
    const connection = {
      inboxPrefix: '_INBOX_edc',
      connection: {
        // no ack: each request waits out its timeout
        request: async (subject: string) => {
          requests.push(subject);
          clock.advance(500);
          throw new Error('timeout');
        },
      },
    };
    const records = { read: () => Promise.reject(new Error('TIMEOUT')) };
    const logged: string[] = [];
    const dispatch = new BridgeDispatch(
      connection as never,
      { EDC_ACK_TIMEOUT_MS: 500 } as never,
      clock,
      records as never,
      {} as never,
      {} as never,
      {} as never,
      { event: (_level: string, message: string) => logged.push(message) } as never,
      { stopping: false } as never,
    );

    await dispatch.resendUntilAcked('r1', {
      deviceId: 'd1',
      requestId: 'r1',
      commandName: 'Purchase',
      commandRequestParams: {},
      notAfter: clock.now() + 2_000,
    });
    expect(requests).toHaveLength(4);
    expect(logged).toEqual(['no ack from the bridge before notAfter']);
  });
});
