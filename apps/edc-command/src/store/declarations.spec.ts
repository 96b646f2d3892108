import { EDC_BRIDGE_EVENTS, EDC_BRIDGE_STREAM, edcCommandProvisioning } from '@tillbus/messaging';
import {
  KICC_BRIDGE_DUPLICATE_WINDOW_MS,
  KICC_BRIDGE_RETENTION_MS,
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
} from '@tillbus/protocols-kicc';
import { describe, expect, it } from 'vitest';

// libs/messaging cannot import a protocol lib, so the bridge stream is named twice; this keeps the two equal.
describe('the declared bridge stream is the one the KICC bridge protocol names', () => {
  it('has the same name, subjects, retention and duplicate window', () => {
    expect(EDC_BRIDGE_STREAM).toBe(KICC_BRIDGE_STREAM);
    expect(EDC_BRIDGE_EVENTS).toBe(KICC_BRIDGE_SUBJECT_WILDCARDS.events);
    const stream = edcCommandProvisioning({}).streams.find((s) => s.name === KICC_BRIDGE_STREAM);
    expect(stream?.max_age).toBe(KICC_BRIDGE_RETENTION_MS * 1_000_000);
    expect(stream?.duplicate_window).toBe(KICC_BRIDGE_DUPLICATE_WINDOW_MS * 1_000_000);
  });
});
