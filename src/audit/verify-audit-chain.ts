import { createPublicKey, verify } from 'node:crypto';
import type { Reader } from '../store/index.ts';
import {
  AUDIT_KEYS,
  chainHash,
  checkpointBytes,
  GENESIS_HASH,
  parseChained,
  readHead,
  seqKey,
  signedHeadBytes,
  type Checkpoint,
  type SignedHead,
} from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';

export interface AuditVerification {
  ok: boolean;
  /** Events checked, and the first and last sequence numbers present. */
  events: number;
  firstSeq: number | null;
  lastSeq: number | null;
  signedHeads: number;
  /** Whether signatures were checked (with the region's public identity key). */
  signaturesChecked: boolean;
  /** The checkpoint retention left, where the walk started. */
  checkpoint: number | null;
  /** The first sequence number found wrong, and why. */
  firstBadSeq?: number;
  problem?: string;
}

const PAGE = 1000;

function signatureValid(publicKey: string, data: Buffer, signature: string): boolean {
  try {
    return verify('sha256', data, createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' }), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Walks the chain from the retention checkpoint (or the first event) to the head: every sequence
 * number present once and in order, every hash recomputed from the previous one, every signed
 * head and the checkpoint signed by the region's identity key and matched by the chain, and no
 * signed head beyond the last event (a truncated tail). Names the first bad sequence number.
 */
export async function verifyAuditChain(reader: Reader, { region, publicKey }: { region: string; publicKey?: string }): Promise<AuditVerification> {
  const report: AuditVerification = {
    ok: true,
    events: 0,
    firstSeq: null,
    lastSeq: null,
    signedHeads: 0,
    signaturesChecked: publicKey !== undefined,
    checkpoint: null,
  };
  const fail = (seq: number, problem: string): AuditVerification => ({ ...report, ok: false, firstBadSeq: seq, problem });

  let expected = 1;
  let previous = GENESIS_HASH;
  const checkpointValue = await reader.get(AUDIT_KEYS.checkpoint);
  if (checkpointValue !== undefined) {
    const checkpoint = JSON.parse(checkpointValue) as Checkpoint;
    report.checkpoint = checkpoint.seq;
    if (
      publicKey !== undefined &&
      (checkpoint.signature === undefined || !signatureValid(publicKey, checkpointBytes(region, checkpoint), checkpoint.signature))
    )
      return fail(checkpoint.seq + 1, `the retention checkpoint at sequence ${checkpoint.seq} is not signed by the region's identity key`);
    expected = checkpoint.seq + 1;
    previous = checkpoint.hash;
  }

  const signed = new Map<number, SignedHead>();
  for (const { key, value } of await reader.list(AUDIT_KEYS.signedHeads)) {
    const head = JSON.parse(value) as SignedHead;
    if (key !== AUDIT_KEYS.signedHeads + seqKey(head.seq))
      return fail(Number(key.slice(AUDIT_KEYS.signedHeads.length)), 'a signed head is stored under another sequence number');
    if (publicKey !== undefined && !signatureValid(publicKey, signedHeadBytes(region, head, head.signedAt), head.signature))
      return fail(head.seq, `the head signed at sequence ${head.seq} does not carry a valid signature of the region's identity key`);
    if (head.seq >= expected) signed.set(head.seq, head);
  }
  report.signedHeads = signed.size;

  let lastSigned = expected - 1;
  let after = '';
  for (;;) {
    const page = await reader.list(AUDIT_KEYS.events, { after, limit: PAGE });
    for (const { key, value } of page) {
      const seq = Number(key.slice(AUDIT_KEYS.events.length));
      if (seq !== expected) return fail(expected, seq > expected ? `event ${expected} is missing (the next one is ${seq})` : `event ${seq} is out of order`);
      let record;
      try {
        record = parseChained(value);
      } catch {
        return fail(seq, `event ${seq} is not readable`);
      }
      if (record.seq !== seq) return fail(seq, `the event stored as ${seq} says it is ${String(record.seq)}: events were moved`);
      const hash = chainHash(previous, seq, record.time, canonicalJson(record.event));
      if (hash !== record.hash)
        return fail(seq, `event ${seq} was altered, or the event before it removed or reordered: its hash does not follow from the chain`);
      const head = signed.get(seq);
      if (head && head.hash !== hash)
        return fail(
          lastSigned + 1,
          `the chain does not reach the head signed at ${seq}: an event after ${lastSigned} was altered and the hashes after it rewritten`,
        );
      if (head) lastSigned = seq;
      report.firstSeq ??= seq;
      report.lastSeq = seq;
      report.events += 1;
      previous = hash;
      expected = seq + 1;
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.key;
  }

  const beyond = [...signed.keys()].filter((seq) => seq >= expected);
  if (beyond.length > 0) return fail(expected, `events from ${expected} are missing: a head was signed at ${Math.max(...beyond)} (the tail was truncated)`);
  const head = await readHead(reader);
  if (head.seq >= expected) return fail(expected, `events from ${expected} are missing: the chain's head is at ${head.seq}`);
  if (head.seq === expected - 1 && head.seq > 0 && head.hash !== previous) return fail(head.seq, `the chain's head does not match event ${head.seq}`);
  return report;
}
