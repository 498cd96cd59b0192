import { KmsError } from '../../errors/index.ts';
import type { KeyState } from './key-record.ts';

const describeState: Record<KeyState, string> = {
  Creating: 'being created',
  Enabled: 'enabled',
  Disabled: 'disabled',
  PendingDeletion: 'pending deletion',
  PendingImport: 'pending import',
  PendingReplicaDeletion: 'pending replica deletion',
  Unavailable: 'unavailable',
  Updating: 'being updated',
};

/** The error AWS's key state table gives for an operation that needs the key in other states. */
export function invalidState(arn: string, state: KeyState): KmsError {
  if (state === 'Disabled') return new KmsError('DisabledException', `${arn} is disabled.`);
  return new KmsError('KMSInvalidStateException', `${arn} is ${describeState[state]}.`);
}

/** Refuses, with the error AWS gives, a key in a state the operation does not accept. */
export function requireState(arn: string, state: KeyState, allowed: readonly KeyState[]): void {
  if (!allowed.includes(state)) throw invalidState(arn, state);
}

/** Cryptographic operations need an Enabled key. */
export function requireEnabled(arn: string, state: KeyState): void {
  requireState(arn, state, ['Enabled']);
}

/** Management operations (tags, aliases, description) work on any key not being deleted. */
export function requireNotPendingDeletion(arn: string, state: KeyState): void {
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') throw invalidState(arn, state);
}
