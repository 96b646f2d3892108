import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { format, resolveConfig } from 'prettier';
import {
  BRIDGE_PROTOCOL_VERSIONS,
  BridgeAck,
  BridgeCommand,
  BridgeEvent,
  BridgeHeartbeat,
  BridgeJournal,
  BridgeJournalQuery,
  BridgeResult,
  KiccBusinessFailureData,
  LastPurchaseCancelResponse,
  LastPurchaseResponse,
  MAX_BRIDGE_MESSAGE_BYTES,
  PurchaseCancelRequest,
  PurchaseCancelResponse,
  PurchaseRequest,
  PurchaseResponse,
} from '@tillbus/protocols-kicc';

/**
 * JSON Schemas (draft 2020-12) of docs/bridge-protocol.md, generated from the class-validator schemas of the
 * reference codec (libs/protocols/kicc), so the two cannot drift: bridge-schemas.test.ts regenerates them and
 * compares with docs/bridge-protocol/schemas, and validates every example of the document against them.
 * Regenerate after a change to the codec:
 *
 *   node --conditions=tillbus-source -r @swc-node/register tools/contracts/bridge-schemas.ts --write
 *
 * What a schema cannot say stays with the codec (and the document): card data (§9), the size limit, and the rules
 * across fields (a command's requestId equals its params' requestId; onSuccess carries responseData).
 */

export const SCHEMA_DIR = join(__dirname, '../../docs/bridge-protocol/schemas');

type Json = Record<string, unknown>;
type Class = new () => object;

// class-transformer keeps @Type targets here; it has no public accessor
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: {
    findTypeMetadata(target: Class, property: string): { typeFunction: () => Class } | undefined;
  };
};

interface Meta {
  type: string;
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each?: boolean;
}

/** The JSON Schema of one class, its nested classes collected into `defs`. */
function schemaOf(target: Class, defs: Record<string, Json>): Json {
  const metas = getMetadataStorage().getTargetValidationMetadatas(
    target,
    '',
    true,
    false,
  ) as unknown as Meta[];
  const properties: Record<string, Json> = {};
  const required: string[] = [];
  const byProperty = new Map<string, Meta[]>();
  for (const meta of metas) {
    byProperty.set(meta.propertyName, [...(byProperty.get(meta.propertyName) ?? []), meta]);
  }
  for (const [property, list] of byProperty) {
    const optional = list.some((m) => m.type === 'conditionalValidation');
    if (!optional) required.push(property);
    properties[property] = propertySchema(target, property, list, defs);
  }
  return {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(properties).sort(([a], [b]) => rank(a) - rank(b)),
    ),
    ...(required.length > 0 ? { required: required.sort((a, b) => rank(a) - rank(b)) } : {}),
  };
}

/** Envelope fields in the document's order (§2); the rest as declared. */
const FIELD_ORDER = [
  'v',
  'type',
  'deviceId',
  'bridgeId',
  'requestId',
  'commandName',
  'seq',
  'sentAt',
  'body',
];
const rank = (field: string) => {
  const index = FIELD_ORDER.indexOf(field);
  return index === -1 ? FIELD_ORDER.length : index;
};

function propertySchema(target: Class, property: string, list: Meta[], defs: Record<string, Json>) {
  const schema: Json = {};
  const items: Json = {};
  for (const meta of list) {
    const into = meta.each ? items : schema;
    const [first] = meta.constraints ?? [];
    switch (meta.name ?? meta.type) {
      case 'equals':
        into.type = typeof first === 'number' ? 'integer' : 'string';
        into.const = first;
        delete into.enum;
        break;
      case 'isIn':
        // a subclass's equals narrows an inherited isIn (the v2 types' `v`)
        if ('const' in into) break;
        into.type = (first as unknown[]).every((v) => typeof v === 'number') ? 'integer' : 'string';
        into.enum = first;
        break;
      case 'isInt':
        into.type = 'integer';
        break;
      case 'min':
        into.minimum = first;
        break;
      case 'max':
        into.maximum = first;
        break;
      case 'matches':
        into.type = 'string';
        into.pattern = (first as RegExp).source;
        break;
      case 'isString':
        into.type = 'string';
        break;
      case 'maxLength':
        into.maxLength = first;
        break;
      case 'isNotEmpty':
        into.minLength = 1;
        break;
      case 'isObject':
        into.type = 'object';
        break;
      case 'isArray':
        schema.type = 'array';
        break;
      case 'arrayNotEmpty':
        schema.minItems = 1;
        break;
      case 'arrayMaxSize':
        schema.maxItems = first;
        break;
      case 'nestedValidation': {
        const nested = defaultMetadataStorage.findTypeMetadata(target, property)?.typeFunction();
        if (nested) {
          defs[nested.name] ??= {};
          defs[nested.name] = schemaOf(nested, defs);
          const ref = { $ref: `#/$defs/${nested.name}` };
          if (meta.each) Object.assign(items, ref);
          else Object.assign(schema, ref);
        }
        break;
      }
      default:
        // isDefined, isOptional: required-ness is read from conditionalValidation
        break;
    }
  }
  if (schema.$ref) delete schema.type;
  if (Object.keys(items).length > 0) schema.items = items;
  return schema;
}

function document(title: string, description: string, target: Class): Json {
  const defs: Record<string, Json> = {};
  const root = schemaOf(target, defs);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    description,
    ...root,
    ...(Object.keys(defs).length > 0 ? { $defs: sortKeys(defs) } : {}),
  };
}

function sortKeys(defs: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(defs).sort(([a], [b]) => a.localeCompare(b)));
}

const ENVELOPE_NOTE =
  `KICC bridge protocol v${BRIDGE_PROTOCOL_VERSIONS.join(', v')} (docs/bridge-protocol.md). UTF-8 JSON, at most ` +
  `${MAX_BRIDGE_MESSAGE_BYTES} bytes; receivers ignore fields they do not know. Card data beyond the BIN is ` +
  'refused (§9). Generated from libs/protocols/kicc.';

/** File name (without .json) to schema document. */
export function bridgeJsonSchemas(): Record<string, Json> {
  const envelope = (type: string, target: Class, what: string) =>
    document(`KICC bridge ${type}`, `${what} ${ENVELOPE_NOTE}`, target);
  const vendor = (id: string, target: Class, what: string) =>
    document(
      id,
      `${what} From the seed's "Device commands" tables; generated from libs/protocols/kicc/src/commands.ts.`,
      target,
    );
  return {
    command: envelope('command', BridgeCommand, 'edc-command to the bridge (§3.1).'),
    ack: envelope('ack', BridgeAck, 'The reply to a command (§3.2).'),
    event: envelope('event', BridgeEvent, 'One EDCServiceListener.onEvent (§3.3).'),
    result: envelope('result', BridgeResult, 'The KICCCommandCallback of a command (§3.4).'),
    heartbeat: envelope('heartbeat', BridgeHeartbeat, 'The bridge is alive (§3.5, §5).'),
    journal_query: envelope(
      'journal_query',
      BridgeJournalQuery,
      'v2: edc-command asks the bridge journal what became of a requestId (§12).',
    ),
    journal: envelope('journal', BridgeJournal, 'v2: the reply to a journal_query (§12).'),
    'kicc/purchase-request': vendor(
      'purchase-request',
      PurchaseRequest,
      'Purchase commandRequestParams.',
    ),
    'kicc/purchase-response': vendor(
      'purchase-response',
      PurchaseResponse,
      'Purchase responseData.',
    ),
    'kicc/purchase-cancel-request': vendor(
      'purchase-cancel-request',
      PurchaseCancelRequest,
      'PurchaseCancel commandRequestParams.',
    ),
    'kicc/purchase-cancel-response': vendor(
      'purchase-cancel-response',
      PurchaseCancelResponse,
      'PurchaseCancel responseData.',
    ),
    'kicc/last-purchase-response': vendor(
      'last-purchase-response',
      LastPurchaseResponse,
      'GetLastTransaction responseData when the last transaction is a Purchase.',
    ),
    'kicc/last-purchase-cancel-response': vendor(
      'last-purchase-cancel-response',
      LastPurchaseCancelResponse,
      'GetLastTransaction responseData when the last transaction is a PurchaseCancel.',
    ),
    'kicc/business-failure': vendor(
      'business-failure',
      KiccBusinessFailureData,
      'onBusinessFailed(CommandResult) responseData.',
    ),
  };
}

/** The file's text, formatted as the repository formats JSON (prettier). */
export async function schemaText(schema: Json, path: string): Promise<string> {
  const options = (await resolveConfig(path)) ?? {};
  return format(JSON.stringify(schema, null, 2), { ...options, parser: 'json' });
}

async function write(): Promise<void> {
  for (const [name, schema] of Object.entries(bridgeJsonSchemas())) {
    const path = join(SCHEMA_DIR, `${name}.json`);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, await schemaText(schema, path));
  }
}

if (require.main === module && process.argv.includes('--write')) void write();
