import {
  isPosChangeKind,
  orderSubjectToken,
  POS_CHANGE_KINDS,
  type PosChangeKind,
} from '@tillbus/contracts';
import { OrderLifecycleEvent } from '@tillbus/contracts/dto';
import { PermanentError } from '@tillbus/messaging';
import { EXTEND_INFO_MAX, type ExtendInfo } from '@tillbus/protocols-antom';
import { isPosLifecycleKind, type PosLifecycleKind } from '@tillbus/result-codes';
import { describeViolations, validatePlain } from '@tillbus/validation';
import { isOwnEventKind } from './names';
import { parsePosChangeEvent, type PosChangeEvent } from './pos-change-event';

export type LifecycleMessage =
  | { type: 'ignored'; kind: string }
  | { type: 'lifecycle'; kind: PosLifecycleKind; event: OrderLifecycleEvent }
  | { type: 'change'; kind: PosChangeKind; event: PosChangeEvent };

const KNOWN_KINDS =
  'accepted, preparing, ready, completed, rejected, cancelled, failed, ' +
  Object.keys(POS_CHANGE_KINDS).join(', ');

/**
 * Reads one message of TILLBUS_ORDERS for the lifecycle consumer. Our own kinds are skipped; anything else that
 * cannot be applied (unknown kind, invalid body, a subject token that is not the order's) is a PermanentError, so it
 * goes to the dead letters with the reason instead of being retried.
 */
export function parseLifecycleMessage(subject: string, body: unknown): LifecycleMessage {
  const parts = subject.split('.');
  if (
    parts.length !== 5 ||
    parts[0] !== 'tillbus' ||
    parts[1] !== 'events' ||
    parts[2] !== 'orders'
  )
    throw new PermanentError(`${subject} is not tillbus.events.orders.<kind>.<orderToken>`);
  const [, , , kind, token] = parts;
  if (isOwnEventKind(kind)) return { type: 'ignored', kind };
  if (isPosChangeKind(kind)) {
    const event = parsePosChangeEvent(kind, body);
    checkToken(token, event.requestOrderId);
    return { type: 'change', kind, event };
  }
  if (!isPosLifecycleKind(kind))
    throw new PermanentError(`unknown order event kind "${kind.slice(0, 40)}": use ${KNOWN_KINDS}`);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new PermanentError('the event body must be a JSON object');
  const { extendInfo, ...rest } = body as Record<string, unknown>;
  const checked = validatePlain(OrderLifecycleEvent, rest, { root: 'event' });
  const problems: string[] = checked.ok ? [] : [describeViolations(checked.violations)];
  if (extendInfo !== undefined && !isExtendInfo(extendInfo))
    problems.push(
      `event.extendInfo: must be an object or string of at most ${EXTEND_INFO_MAX} characters as JSON`,
    );
  if (!checked.ok || problems.length > 0)
    throw new PermanentError(`invalid ${kind} event: ${problems.join('; ')}`);
  const event = checked.value;
  if (extendInfo !== undefined) event.extendInfo = extendInfo as ExtendInfo;
  checkToken(token, event.requestOrderId);
  return { type: 'lifecycle', kind, event };
}

function checkToken(token: string, requestOrderId: string): void {
  if (orderSubjectToken(requestOrderId) !== token)
    throw new PermanentError(
      `the subject token ${token.slice(0, 60)} is not the order token of event.requestOrderId`,
    );
}

export function isExtendInfo(value: unknown): value is ExtendInfo {
  if (typeof value === 'string') return value.length <= EXTEND_INFO_MAX;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  try {
    return JSON.stringify(value).length <= EXTEND_INFO_MAX;
  } catch {
    return false;
  }
}
