export { enqueue, Outbox, OUTBOX_JOB, retryDelay, type Deliver, type DeliveryResult, type OutboxEntry, type OutboxMessage } from './outbox.ts';
