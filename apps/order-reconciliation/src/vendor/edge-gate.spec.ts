import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { sourceOf } from './edge-gate';

/** The two parts of a request sourceOf reads: its headers and its connection's remote address. */
function request(headers: Record<string, string | string[]>, remoteAddress = '10.1.2.3') {
  return { headers, raw: { socket: { remoteAddress } } } as unknown as FastifyRequest;
}

describe('sourceOf', () => {
  it('is the remote address unless told to trust X-Forwarded-For', () => {
    expect(sourceOf(request({ 'x-forwarded-for': '203.0.113.9' }), false)).toBe('10.1.2.3');
  });

  it("behind the ingress, is the last X-Forwarded-For entry: the ingress's, not the caller's own words", () => {
    expect(sourceOf(request({ 'x-forwarded-for': '203.0.113.9' }), true)).toBe('203.0.113.9');
    expect(sourceOf(request({ 'x-forwarded-for': '1.1.1.1, 2.2.2.2,203.0.113.9 ' }), true)).toBe(
      '203.0.113.9',
    );
    expect(sourceOf(request({ 'x-forwarded-for': ['1.1.1.1', '203.0.113.9'] }), true)).toBe(
      '203.0.113.9',
    );
  });

  it('falls back to the remote address without a usable X-Forwarded-For, and bounds the key', () => {
    expect(sourceOf(request({}), true)).toBe('10.1.2.3');
    expect(sourceOf(request({ 'x-forwarded-for': '1.1.1.1, ' }), true)).toBe('10.1.2.3');
    expect(sourceOf(request({ 'x-forwarded-for': 'x'.repeat(1000) }), true)).toHaveLength(64);
  });
});
