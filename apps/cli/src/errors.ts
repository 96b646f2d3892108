/**
 * Exit codes, so a script can tell "the service said no" from "nothing answered":
 * 0 done; 1 the service answered with an error (or the command's outcome is a failure); 2 bad usage;
 * 3 NATS or the service cannot be reached; 4 no answer in time.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  timeout: 4,
} as const;

/** Codes the CLI itself produces; everything else is the code a service answered with. */
export const CLI_ERROR_CODES = {
  USAGE: 'the command line is not valid',
  NATS_UNREACHABLE: 'no NATS server answers at the configured address',
  NO_RESPONDERS: 'NATS is up but the service that answers this command is not running',
  TIMEOUT: 'no answer within the timeout',
  NOT_PROVISIONED: '`tillbus provision --check` found streams, buckets or consumers missing',
  PROVISIONING_FAILED:
    'the server refused or failed a declaration (wrong user, or a conflicting stream)',
} as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.failed,
    readonly hint?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, EXIT.usage, hint);
  }
}

export function exitCodeFor(code: string): number {
  switch (code) {
    case 'USAGE':
      return EXIT.usage;
    case 'NATS_UNREACHABLE':
    case 'NO_RESPONDERS':
    case 'UNAVAILABLE':
      return EXIT.unreachable;
    case 'TIMEOUT':
      return EXIT.timeout;
    default:
      return EXIT.failed;
  }
}
