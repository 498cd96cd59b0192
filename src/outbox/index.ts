export { enqueue, Outbox, REPLICATION_JOB, type DeliveryResult, type OutboxEntry, type OutboxMessage } from './outbox.ts';
