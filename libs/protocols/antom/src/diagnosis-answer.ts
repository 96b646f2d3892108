import { describeViolations, readVendorMessage, type UnrecognisedValue } from '@tillbus/validation';
import { AntomProtocolError } from './errors';
import { DiagnosisResponse } from './schemas';

/** A terminal's diagnosis answer read by the tolerant-reader rule (protocols.md, top). */
export interface DiagnosisAnswer {
  /** Declared fields validated; a flag or status this version does not know is kept as received. */
  readonly response: DiagnosisResponse;
  /** Values of closed vocabularies this version does not know (a flag other than Y/N, a new resultStatus). */
  readonly unrecognised: readonly UnrecognisedValue[];
  /** Dotted paths of fields the schema does not declare; they are kept in `response`. */
  readonly unknownFields: readonly string[];
}

/**
 * `POST /v2/device/diagnosis`'s answer, from the parsed JSON body. Unknown fields and unknown enum values never
 * refuse it; a missing `result`, a flag missing from an S answer, a wrong type or a size limit throw
 * AntomProtocolError SCHEMA_INVALID.
 */
export function readDiagnosisAnswer(json: unknown): DiagnosisAnswer {
  let read;
  try {
    read = readVendorMessage(DiagnosisResponse, withoutProtoKeys(json));
  } catch {
    // class-transformer walks every field before validation, and a nested `constructor` key crashes it.
    throw new AntomProtocolError(
      'SCHEMA_INVALID',
      'DiagnosisResponse: a field holds an object class-transformer cannot read',
    );
  }
  if (!read.ok) {
    throw new AntomProtocolError(
      'SCHEMA_INVALID',
      `DiagnosisResponse: ${describeViolations(read.violations)}`,
      { violations: read.violations },
    );
  }
  return {
    response: read.value,
    unrecognised: read.unrecognised,
    unknownFields: read.unknownFields,
  };
}

/** A "__proto__" key would become an object's prototype once class-transformer copies it. */
function withoutProtoKeys(json: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(json);
  } catch {
    throw new AntomProtocolError('SCHEMA_INVALID', 'the answer is not JSON data');
  }
  if (text === undefined) return json;
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}
