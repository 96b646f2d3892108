import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, urlPath } from './http-body';

/**
 * The path segments of a control request below `prefix`, URI-decoded, without the query:
 * `/_sim/terminals/A%2FB/faults?x=1` under `/_sim/` is `['terminals', 'A/B', 'faults']`. A segment with a broken
 * escape is kept as it is (it then names no route and no terminal).
 */
export function controlSegments(url: string | undefined, prefix: string): string[] {
  return urlPath(url).slice(prefix.length).split('/').filter(Boolean).map(decodeSegment);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Runs the routes of one control request. A route answers with `sendJson` (or writes its own answer); when none
 * did, the answer is 404 naming the request and `docs`, where the control API is described. An error a route
 * throws (a bad fault, an unknown terminal, a body that is not JSON) is answered 400 with its message.
 */
export async function answerControl(
  req: IncomingMessage,
  res: ServerResponse,
  docs: string,
  routes: () => void | Promise<void>,
): Promise<void> {
  try {
    await routes();
    sendJson(res, 404, {
      error: `no control route ${req.method} ${urlPath(req.url)}; see ${docs}`,
    });
  } catch (error) {
    sendJson(res, 400, { error: (error as Error).message });
  }
}
