import { hash } from 'node:crypto';
import { timeIndexPath, timeIndexTime, type Reader, type Transaction } from '../store/index.ts';
import type { ChainedEvent } from './audit-event.ts';

/**
 * The audit chain in the store. Events are `audit/event/<seq>`, numbered from 1 without gaps,
 * each carrying sha256(previous hash + canonical JSON of {seq, time, event}), so removing,
 * reordering or altering one breaks every hash after it. `audit/head` is the last sequence
 * number and hash; appenders read it for update, so nodes and processes sharing the store
 * extend one chain. `audit/signed-head/<seq>` are heads signed with the region's identity key,
 * which a writer of the store cannot forge; `audit/checkpoint` is the signed last hash of the
 * events retention purged, where verification starts. The time index that queries and the
 * retention purge read has one entry per appended batch, `audit-time/<latest time>/<first seq>`
 * holding `<first seq> <last seq> <earliest time>`, so an event costs one row.
 */
export const AUDIT_KEYS = {
  head: 'audit/head',
  events: 'audit/event/',
  signedHeads: 'audit/signed-head/',
  checkpoint: 'audit/checkpoint',
  timeIndex: 'audit-time',
} as const;

export const GENESIS_HASH = '0'.repeat(64);

/** An event as its canonical JSON, as buildAuditEvent writes it. */
export interface SerializedEvent {
  time: number;
  json: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface SignedHead extends ChainHead {
  /** Milliseconds since the epoch. */
  signedAt: number;
  /** Base64 ECDSA P-256 SHA-256 signature over signedHeadBytes. */
  signature: string;
}

export interface Checkpoint extends ChainHead {
  /** The retention cut-off: events before this time were purged. */
  purgedBefore: number;
  signature?: string;
}

export const seqKey = (seq: number): string => String(seq).padStart(15, '0');
export const eventKey = (seq: number): string => AUDIT_KEYS.events + seqKey(seq);
export const signedHeadKey = (seq: number): string => AUDIT_KEYS.signedHeads + seqKey(seq);

/** A batch of events as its time index entry tells it. */
export interface IndexedBatch {
  firstSeq: number;
  lastSeq: number;
  earliest: number;
  latest: number;
}

export function indexedBatch(entry: { key: string; value: string }): IndexedBatch {
  const [firstSeq, lastSeq, earliest] = entry.value.split(' ').map(Number);
  return { firstSeq: firstSeq!, lastSeq: lastSeq!, earliest: earliest!, latest: timeIndexTime(entry.key) };
}

/**
 * The chain hash of an event after `previous`, over its sequence number, time and canonical JSON.
 * One-shot: a Hash object per event cost a third more, and a weak handle for each scavenge to clear.
 */
export function chainHash(previous: string, seq: number, time: number, canonicalEvent: string): string {
  return hash('sha256', `${previous}\n${seq}\n${time}\n${canonicalEvent}`, 'hex');
}

/** What a signed head's signature covers; the prefix keeps it from ever reading as a peer request's. */
export const signedHeadBytes = (region: string, head: ChainHead, signedAt: number): Buffer =>
  Buffer.from(`concord audit head\n${region}\n${head.seq}\n${head.hash}\n${signedAt}`);

export const checkpointBytes = (region: string, checkpoint: Checkpoint): Buffer =>
  Buffer.from(`concord audit checkpoint\n${region}\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.purgedBefore}`);

export async function readHead(reader: Reader | Transaction, forUpdate = false): Promise<ChainHead> {
  const value = forUpdate ? await (reader as Transaction).getForUpdate(AUDIT_KEYS.head) : await reader.get(AUDIT_KEYS.head);
  return value === undefined ? { seq: 0, hash: GENESIS_HASH } : (JSON.parse(value) as ChainHead);
}

/**
 * Appends events after the chain's head, in the caller's transaction: the head is read for
 * update, so a concurrent appender on another node or process waits and continues after these.
 */
export async function appendEvents(tx: Transaction, events: readonly SerializedEvent[]): Promise<ChainHead> {
  let { seq, hash } = await readHead(tx, true);
  const firstSeq = seq + 1;
  let earliest = Infinity;
  let latest = 0;
  for (const { time, json } of events) {
    seq += 1;
    hash = chainHash(hash, seq, time, json);
    tx.put(eventKey(seq), `{"seq":${seq},"time":${time},"hash":"${hash}","event":${json}}`);
    earliest = Math.min(earliest, time);
    latest = Math.max(latest, time);
  }
  if (events.length > 0) tx.put(timeIndexPath(AUDIT_KEYS.timeIndex, latest, seqKey(firstSeq)), `${firstSeq} ${seq} ${earliest}`);
  const head = { seq, hash };
  tx.put(AUDIT_KEYS.head, JSON.stringify(head));
  return head;
}

export const parseChained = (value: string): ChainedEvent => JSON.parse(value) as ChainedEvent;
