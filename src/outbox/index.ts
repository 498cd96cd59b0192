export { enqueue, Outbox, OUTBOX_JOB, retryDelay, topicPrefix, type Deliver, type DeliveryResult, type OutboxEntry, type OutboxMessage } from './outbox.ts';
