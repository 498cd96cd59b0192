/**
 * A peer asked to act on a key where it does not hold the role it claims (by its signature,
 * whatever its payload says): answered 403 and logged with the peer, the action and the key.
 */
export class PeerRefusal extends Error {
  constructor(
    readonly keyId: string,
    message: string,
  ) {
    super(message);
    this.name = 'PeerRefusal';
  }
}
