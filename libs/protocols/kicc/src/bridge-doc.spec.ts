import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KICC_BUSINESS_FAILURE_CODES,
  KICC_COMMAND_FAILURE_CODES,
  KICC_EVENT_CODE_LIST,
  KICC_INIT_CODE_LIST,
} from '@tillbus/result-codes';
import { BRIDGE_ACK_STATUSES, KICC_BRIDGE_SUBJECTS, parseBridgeMessage } from './bridge';

const DOC = readFileSync(join(__dirname, '../../../../docs/bridge-protocol.md'), 'utf8');
const JSON_BLOCKS = [...DOC.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]);

describe('docs/bridge-protocol.md', () => {
  it('has an example of every message type', () => {
    const types = JSON_BLOCKS.map((block) => (JSON.parse(block) as { type: string }).type);
    expect(new Set(types)).toEqual(
      new Set(['command', 'ack', 'event', 'result', 'heartbeat', 'journal_query', 'journal']),
    );
  });

  it.each(JSON_BLOCKS.map((block, index) => [index, block]))(
    'example %i is a valid message',
    (_index, block) => {
      const parsed = parseBridgeMessage(block);
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(JSON.parse(block));
    },
  );

  it('names every subject, ack status and vendor code', () => {
    const names = [
      ...Object.values(KICC_BRIDGE_SUBJECTS).map((template) =>
        template.replace(/\{(\w+)\}/, '<$1>'),
      ),
      ...Object.keys(BRIDGE_ACK_STATUSES),
      ...KICC_EVENT_CODE_LIST,
      ...KICC_INIT_CODE_LIST,
      ...KICC_COMMAND_FAILURE_CODES,
      ...KICC_BUSINESS_FAILURE_CODES,
    ];
    expect(names.filter((name) => !DOC.includes(`\`${name}\``))).toEqual([]);
  });
});
