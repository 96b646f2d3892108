import { STREAMS } from '@tillbus/contracts';
import { describe, expect, it } from 'vitest';
import { tillbusProvisioning } from './declarations';
import { DEFAULT_PUBLISH_TIMEOUT_MS, OUTBOX_MAX_PAUSE_MS } from './records/outbox';

const NS_PER_MS = 1_000_000;

describe('stream declarations', () => {
  it.each([STREAMS.edc, STREAMS.easycard, STREAMS.orders, STREAMS.terminalHealth])(
    "%s's duplicate window covers an outbox re-send many times over",
    (name) => {
      const stream = tillbusProvisioning({}).streams.find((s) => s.name === name)!;
      // the longest gap between a stored copy whose ack was lost and its re-send: one publish timeout, one pause
      const longestResend = DEFAULT_PUBLISH_TIMEOUT_MS + OUTBOX_MAX_PAUSE_MS;
      expect(stream.duplicate_window! / NS_PER_MS).toBeGreaterThanOrEqual(10 * longestResend);
    },
  );
});
