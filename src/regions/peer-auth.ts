import { createHash, randomBytes } from 'node:crypto';
import type { PeerNonces } from './peer-nonces.ts';
import { verifySignature, type RegionIdentity } from './region-identity.ts';

/** A peer region as configured: where it listens and the public key it signs with. */
export interface PeerConfig {
  url: string;
  publicKey: string;
}

export type PeerHeaders = Record<string, string | string[] | undefined>;

/** How far a peer's clock may be from ours. */
const MAX_SKEW_MS = 5 * 60 * 1000;
/**
 * How long after its timestamp a nonce is remembered: longer than its request can be accepted,
 * so a verification that read the clock just before the forgetting still finds the nonce.
 */
const REMEMBER_MS = 2 * MAX_SKEW_MS;

export const PEER_HEADERS = {
  region: 'x-concord-peer-region',
  target: 'x-concord-peer-target',
  timestamp: 'x-concord-timestamp',
  nonce: 'x-concord-nonce',
  signature: 'x-concord-signature',
} as const;

export class PeerAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerAuthError';
  }
}

const digest = (body: Buffer | string): string => createHash('sha256').update(body).digest('hex');

const requestText = (action: string, from: string, to: string, timestamp: string, nonce: string, body: Buffer | string): Buffer =>
  Buffer.from(['concord peer request v1', action, from, to, timestamp, nonce, digest(body)].join('\n'));

const responseText = (responder: string, requester: string, nonce: string, status: number, body: Buffer | string): Buffer =>
  Buffer.from(['concord peer response v1', responder, requester, nonce, String(status), digest(body)].join('\n'));

const header = (headers: PeerHeaders, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Mutual authentication between regions: every request and every response is signed with
 * the sender's identity key and checked against the key configured for that peer. A request
 * names its target region, carries a timestamp and a nonce, and is refused when stale or seen before.
 * Timestamps are read from `now`, the region store's clock: every node of a region then agrees
 * on which requests are stale and which nonces may be forgotten, whatever its own clock says.
 */
export class PeerAuthenticator {
  constructor(
    readonly region: string,
    private readonly identity: RegionIdentity,
    private readonly peers: Readonly<Record<string, PeerConfig>>,
    private readonly nonces: PeerNonces,
    private readonly now: () => Promise<number>,
  ) {}

  peer(region: string): PeerConfig | undefined {
    return Object.hasOwn(this.peers, region) ? this.peers[region] : undefined;
  }

  get peerRegions(): string[] {
    return Object.keys(this.peers);
  }

  async signRequest(to: string, action: string, body: string): Promise<{ headers: Record<string, string>; nonce: string }> {
    const timestamp = String(await this.now());
    const nonce = randomBytes(16).toString('hex');
    const signature = this.identity.sign(requestText(action, this.region, to, timestamp, nonce, body));
    return {
      nonce,
      headers: {
        [PEER_HEADERS.region]: this.region,
        [PEER_HEADERS.target]: to,
        [PEER_HEADERS.timestamp]: timestamp,
        [PEER_HEADERS.nonce]: nonce,
        [PEER_HEADERS.signature]: signature,
      },
    };
  }

  /** Returns the authenticated sender region and its nonce, or throws PeerAuthError. */
  async verifyRequest(action: string, headers: PeerHeaders, body: Buffer): Promise<{ from: string; nonce: string }> {
    const from = header(headers, PEER_HEADERS.region);
    const to = header(headers, PEER_HEADERS.target);
    const timestamp = header(headers, PEER_HEADERS.timestamp);
    const nonce = header(headers, PEER_HEADERS.nonce);
    const signature = header(headers, PEER_HEADERS.signature);
    if (!from || !to || !timestamp || !nonce || !signature) throw new PeerAuthError('missing peer authentication headers');
    // The messages name no header value: they are logged, and the values are the caller's choice.
    const peer = this.peer(from);
    if (!peer) throw new PeerAuthError('the requesting region is not a configured peer');
    if (to !== this.region) throw new PeerAuthError('the request is meant for another region');
    if (!/^[0-9a-f]{32}$/.test(nonce)) throw new PeerAuthError('malformed nonce');
    if (!verifySignature(peer.publicKey, requestText(action, from, to, timestamp, nonce, body), signature)) {
      throw new PeerAuthError('bad peer request signature');
    }
    const now = await this.now();
    if (!(Math.abs(now - Number(timestamp)) <= MAX_SKEW_MS)) throw new PeerAuthError('peer request timestamp out of range');
    if (!(await this.nonces.claim(from, nonce, Number(timestamp)))) throw new PeerAuthError('replayed peer request');
    return { from, nonce };
  }

  signResponse(requester: string, nonce: string, status: number, body: string): Record<string, string> {
    return {
      [PEER_HEADERS.region]: this.region,
      [PEER_HEADERS.signature]: this.identity.sign(responseText(this.region, requester, nonce, status, body)),
    };
  }

  verifyResponse(responder: string, nonce: string, status: number, headers: PeerHeaders, body: string): boolean {
    const peer = this.peer(responder);
    const signature = header(headers, PEER_HEADERS.signature);
    if (!peer || !signature) return false;
    return verifySignature(peer.publicKey, responseText(responder, this.region, nonce, status, body), signature);
  }

  /** Forgets the nonces of requests too old to be accepted anyway; answers how many. */
  async forgetStaleNonces(): Promise<number> {
    return this.nonces.forget((await this.now()) - REMEMBER_MS);
  }
}
