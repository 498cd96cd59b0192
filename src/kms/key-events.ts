import type { Store, Transaction } from '../store/index.ts';
// The file rather than keys/index.ts: keys/ (updateKey, changeKey) publishes through this file.
import type { KeyRecord } from './keys/key-record.ts';

/** What happened to a key. Webhooks tell rotation, disabling, restoring and deletion apart, so operations name their kind. */
export type KeyEventKind =
  | 'created'
  | 'enabled'
  | 'disabled'
  | 'rotated'
  | 'rotation-enabled'
  | 'rotation-disabled'
  | 'material-imported'
  | 'material-deleted'
  | 'material-expired'
  | 'deletion-scheduled'
  | 'deletion-cancelled'
  | 'deleted'
  | 'description-changed'
  | 'policy-changed'
  | 'tags-changed'
  | 'multi-region-changed'
  | 'changed';

/** One change of one key: `before` is absent when the key was created, `after` when it was deleted. */
export interface KeyEvent {
  kind: KeyEventKind;
  keyId: string;
  before?: KeyRecord;
  after?: KeyRecord;
}

/** A module that takes part in every key change, registered by the composition root. */
export interface KeySubscriber {
  /** Changes this module makes itself carry its name (KeyEvents.transaction's `source`) and do not come back to it. */
  readonly name: string;
  /**
   * Runs inside the change's transaction before the key is written: it may write rows of its own
   * (an outbox message), amend `event.after`, or refuse the change by throwing, which rolls the
   * whole transaction back.
   */
  inTransaction?(tx: Transaction, event: KeyEvent): Promise<void>;
  /** Runs once the transaction has committed; the change stands whatever happens here, so it must not throw. */
  afterCommit?(event: KeyEvent): void;
}

/** Tells one change to the subscribers, inside its transaction. */
export type PublishKeyEvent = (event: KeyEvent) => Promise<void>;

/** The operation that changes a key, and what its change is called. */
const KIND_OF_ACTION = {
  UpdateKeyDescription: 'description-changed',
  EnableKey: 'enabled',
  DisableKey: 'disabled',
  ScheduleKeyDeletion: 'deletion-scheduled',
  CancelKeyDeletion: 'deletion-cancelled',
  EnableKeyRotation: 'rotation-enabled',
  DisableKeyRotation: 'rotation-disabled',
  RotateKeyOnDemand: 'rotated',
  ImportKeyMaterial: 'material-imported',
  DeleteImportedKeyMaterial: 'material-deleted',
  TagResource: 'tags-changed',
  UntagResource: 'tags-changed',
  PutKeyPolicy: 'policy-changed',
} as const satisfies Record<string, KeyEventKind>;

/** The operations that change a key record, each with its event kind. */
export type KeyChangingAction = keyof typeof KIND_OF_ACTION;

export const eventKindOf = (action: KeyChangingAction): KeyEventKind => KIND_OF_ACTION[action];

/**
 * The kind of a change whose maker does not name it (a peer region's word applied to a replica),
 * from what changed, the most telling first.
 */
export function keyEventKind(before: KeyRecord | undefined, after: KeyRecord | undefined): KeyEventKind {
  if (!before) return 'created';
  if (!after) return 'deleted';
  const pendingDeletion = (key: KeyRecord) => key.state === 'PendingDeletion' || key.state === 'PendingReplicaDeletion';
  if (!pendingDeletion(before) && pendingDeletion(after)) return 'deletion-scheduled';
  if (pendingDeletion(before) && !pendingDeletion(after)) return 'deletion-cancelled';
  if (before.state !== after.state && after.state === 'Disabled') return 'disabled';
  if (before.state !== after.state && after.state === 'Enabled') return 'enabled';
  if (after.currentMaterial !== before.currentMaterial && before.currentMaterial !== 0) return 'rotated';
  if (after.materials.length > before.materials.length) return 'material-imported';
  if (after.materials.length < before.materials.length) return 'material-deleted';
  if (JSON.stringify(after.autoRotation) !== JSON.stringify(before.autoRotation)) return after.autoRotation ? 'rotation-enabled' : 'rotation-disabled';
  if (after.policy !== before.policy) return 'policy-changed';
  if (JSON.stringify(after.tags) !== JSON.stringify(before.tags)) return 'tags-changed';
  if (after.description !== before.description) return 'description-changed';
  if (JSON.stringify(after.multiRegionConfig) !== JSON.stringify(before.multiRegionConfig)) return 'multi-region-changed';
  return 'changed';
}

/**
 * The subscribers of a region's key changes. Every change of a key record goes through
 * `transaction`, so each subscriber hears of it inside the transaction that makes it and again
 * after the commit, in the order they subscribed.
 */
export class KeyEvents {
  private readonly subscribers: KeySubscriber[] = [];

  constructor(private readonly store: Store) {}

  subscribe(subscriber: KeySubscriber): void {
    if (this.subscribers.some((s) => s.name === subscriber.name)) throw new Error(`a key event subscriber named ${subscriber.name} is subscribed already`);
    this.subscribers.push(subscriber);
  }

  /**
   * Runs `work` in one transaction of the store; each change it publishes reaches the
   * subscribers other than `source` inside it, and once it has committed. A refusal rolls
   * everything back and no subscriber hears of the change after.
   */
  async transaction<T>(work: (tx: Transaction, publish: PublishKeyEvent) => Promise<T>, source?: string): Promise<T> {
    const audience = this.subscribers.filter((s) => s.name !== source);
    const published: KeyEvent[] = [];
    const result = await this.store.transaction((tx) =>
      work(tx, async (event) => {
        for (const subscriber of audience) await subscriber.inTransaction?.(tx, event);
        published.push(event);
      }),
    );
    for (const event of published) for (const subscriber of audience) subscriber.afterCommit?.(event);
    return result;
  }
}
