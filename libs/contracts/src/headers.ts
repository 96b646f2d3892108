/** The header names of the bus contract (no NATS or Nest needed to read them). */
export const HEADERS = {
  correlationId: 'Tillbus-Correlation-Id',
  /** Present on a reply that is an error envelope; its value is the error code. */
  error: 'Tillbus-Error',
  deadLetterReason: 'Tillbus-Dlq-Reason',
  deadLetterSubject: 'Tillbus-Dlq-Subject',
  deadLetterStream: 'Tillbus-Dlq-Stream',
  deadLetterSequence: 'Tillbus-Dlq-Sequence',
  deadLetterDeliveries: 'Tillbus-Dlq-Deliveries',
  /** JetStream de-duplication id. */
  messageId: 'Nats-Msg-Id',
} as const;
