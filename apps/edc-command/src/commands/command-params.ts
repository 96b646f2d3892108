import { EdcError, NotFoundError, PayloadInvalidError } from '@tillbus/contracts';
import type { SubmitCommandRequest } from '@tillbus/contracts/dto';
import { KiccProtocolError, parseKiccCommandRequest } from '@tillbus/protocols-kicc';
import type { RecordStore } from '../store/stores';

/** Validates the seed params, fills in requestId and, for a PurchaseCancel, the Purchase's acquirerMetaData. */
export async function commandParams(
  request: SubmitCommandRequest,
  records: RecordStore,
): Promise<Record<string, unknown>> {
  const params: Record<string, unknown> = { ...(request.params ?? {}) };
  const commandName = request.commandName;
  if (commandName === 'Purchase' || commandName === 'PurchaseCancel') {
    if (params.requestId !== undefined && params.requestId !== request.requestId) {
      throw invalidParams('requestId', 'must equal the requestId of the request, or be left out');
    }
    params.requestId = request.requestId;
  }
  if (request.purchase && commandName !== 'PurchaseCancel') {
    throw purchaseNotTaken();
  }
  if (commandName === 'PurchaseCancel' && request.purchase) {
    const acquirerInfo = (params.acquirerInfo ?? {}) as Record<string, unknown>;
    if (acquirerInfo.acquirerMetaData !== undefined) {
      throw invalidParams(
        'acquirerInfo.acquirerMetaData',
        'comes from the referenced purchase; leave it out',
      );
    }
    params.acquirerInfo = {
      ...acquirerInfo,
      acquirerMetaData: await purchaseMetaData(request, records),
    };
  }
  try {
    return { ...parseKiccCommandRequest(commandName, params) } as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof KiccProtocolError)) throw error;
    const details = (error.details ?? {}) as {
      violations?: { field: string; problems: string[] }[];
      paths?: string[];
    };
    if (error.code === 'CARD_DATA_REFUSED') {
      throw new PayloadInvalidError(
        'invalid payload: params carry card data, which may not reach a device',
        {
          violations: (details.paths ?? []).map((path) => ({
            field: `payload.params.${path}`,
            problems: ['card data is refused'],
          })),
        },
      );
    }
    const violations = (details.violations ?? []).map((v) => ({
      ...v,
      field: `payload.params.${v.field}`,
    }));
    throw new PayloadInvalidError(
      violations.length > 0
        ? `invalid payload: ${violations.map((v) => `${v.field}: ${v.problems.join(', ')}`).join('; ')}`
        : `invalid payload: params: ${error.message}`,
      {
        violations:
          violations.length > 0
            ? violations
            : [{ field: 'payload.params', problems: [error.message] }],
      },
    );
  }
}

async function purchaseMetaData(
  request: SubmitCommandRequest,
  records: RecordStore,
): Promise<string> {
  const ref = request.purchase!;
  const found = await records.readOn(ref.deviceId, ref.requestId);
  if (!found || found.value.kind !== 'command' || found.value.commandName !== 'Purchase') {
    throw new NotFoundError(`no Purchase ${ref.requestId} on device ${ref.deviceId}`, {
      purchase: ref,
    });
  }
  const purchase = found.value;
  const metaData = (purchase.result?.acquirerInfo as { acquirerMetaData?: unknown } | undefined)
    ?.acquirerMetaData;
  if (purchase.lifecycle.phase !== 'succeeded' || typeof metaData !== 'string' || metaData === '') {
    throw new EdcError(
      'ORDER_STATUS_INVALID',
      `Purchase ${ref.requestId} cannot be cancelled: it is ${purchase.lifecycle.phase}${purchase.lifecycle.phase === 'succeeded' ? ' without acquirerMetaData' : ''}`,
      { purchase: ref, phase: purchase.lifecycle.phase },
    );
  }
  return metaData;
}

/** Only a CommandCancel names a target. */
export function assertNoTarget(request: SubmitCommandRequest): void {
  if (request.targetRequestId) {
    throw new PayloadInvalidError('invalid payload: targetRequestId: only CommandCancel takes it', {
      violations: [{ field: 'payload.targetRequestId', problems: ['only CommandCancel takes it'] }],
    });
  }
}

export function purchaseNotTaken(): PayloadInvalidError {
  return new PayloadInvalidError('invalid payload: purchase: only PurchaseCancel takes it', {
    violations: [{ field: 'payload.purchase', problems: ['only PurchaseCancel takes it'] }],
  });
}

export function invalidParams(field: string, problem: string): PayloadInvalidError {
  const path = field === '(root)' ? 'payload.params' : `payload.params.${field}`;
  return new PayloadInvalidError(`invalid payload: ${path}: ${problem}`, {
    violations: [{ field: path, problems: [problem] }],
  });
}
