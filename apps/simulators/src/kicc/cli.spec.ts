import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli';

afterEach(() => vi.restoreAllMocks());

describe('kicc-bridge CLI', () => {
  it('prints its options with --help', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await main(['--help']);
    const text = write.mock.calls.map((call) => String(call[0])).join('');
    for (const option of [
      '--nats',
      '--bridges',
      '--devices',
      '--timing',
      '--hold-at',
      '--drop-results',
      '--control-subject',
      '--misbehave',
      'late-ack',
    ]) {
      expect(text).toContain(option);
    }
  });

  it.each([
    [['--bridges', '0'], '--bridges must be a positive integer'],
    [['--devices', '65'], 'a bridge drives at most 64 devices'],
    [['--timing', 'slow'], '--timing must be one of realistic, fast, instant'],
    [['--nope'], "Unknown option '--nope'"],
    [['--misbehave', 'rude'], '--misbehave must be one of wrong-version, '],
  ])('refuses %j', async (argv, message) => {
    await expect(main(argv)).rejects.toThrow(message);
  });
});
