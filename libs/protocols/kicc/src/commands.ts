/**
 * The four KICC commands: their schemas from the seed's "Device commands" tables (command-schemas.ts), the parsing
 * of what edc-command sends and receives (command-parsing.ts), and the reading of a GetLastTransaction answer in a
 * recovery (last-transaction-match.ts).
 */
export * from './command-schemas';
export * from './command-parsing';
export * from './last-transaction-match';
