import type { ObservedKey } from './keystore-adapter.ts';
import type { KeystoreStatus, ManagedKeyState, SyncFlag, SyncFlagDetail } from './records.ts';

/** What a keystore should hold of a managed key in each state. */
export type Expected = 'absent' | 'enabled' | 'disabled';

export function expectedIn(state: ManagedKeyState): Expected {
  switch (state) {
    case 'active':
      return 'enabled';
    case 'deactivated':
    case 'compromised':
      return 'disabled';
    default:
      return 'absent';
  }
}

/** IBM's status of a key in a keystore; a key waiting for deletion is as good as gone. */
export function statusOf(observed: ObservedKey): KeystoreStatus {
  switch (observed) {
    case 'enabled':
      return 'active';
    case 'disabled':
    case 'pending_import':
      return 'not_active';
    case 'wrong_key':
      return 'wrong_key';
    default:
      return 'not_present';
  }
}

/** Compares a keystore's status with the managed key's state, in IBM's flag and detail. */
export function judge(state: ManagedKeyState, status: KeystoreStatus): { syncFlag: SyncFlag; syncFlagDetail: SyncFlagDetail } {
  if (status === 'error') return { syncFlag: 'error', syncFlagDetail: 'connection_error' };
  const expected = expectedIn(state);
  const inSync = status === (expected === 'enabled' ? 'active' : expected === 'disabled' ? 'not_active' : 'not_present');
  const detail: Record<ManagedKeyState, [SyncFlagDetail, SyncFlagDetail]> = {
    pre_activation: ['pre_active_key_is_not_present_in_keystore', 'pre_active_key_is_present_in_keystore'],
    active: ['active_key_is_active_in_keystore', 'active_key_is_not_active_in_keystore'],
    deactivated: ['deactivated_key_is_deactivated_in_keystore', 'deactivated_key_is_not_deactivated_in_keystore'],
    compromised: ['deactivated_key_is_deactivated_in_keystore', 'deactivated_key_is_not_deactivated_in_keystore'],
    destroyed: ['destroyed_key_is_not_present_in_keystore', 'destroyed_key_is_present_in_keystore'],
    destroyed_compromised: ['destroyed_key_is_not_present_in_keystore', 'destroyed_key_is_present_in_keystore'],
  };
  return inSync ? { syncFlag: 'ok', syncFlagDetail: detail[state][0] } : { syncFlag: 'out_of_sync', syncFlagDetail: detail[state][1] };
}

export type Step = 'create' | 'import' | 'enable' | 'disable' | 'schedule_deletion' | 'cancel_deletion';

/**
 * The keystore operations that take a key from what the keystore holds to what it should hold.
 * A key holding the wrong material is deleted and made again, which needs a keystore that deletes
 * at once (only such keystores tell a wrong key: PKCS#11 tokens).
 */
export function stepsTo(expected: Expected, observed: ObservedKey): Step[] {
  if (expected === 'absent') return observed === 'absent' || observed === 'pending_deletion' ? [] : ['schedule_deletion'];
  const toEnabled: Record<ObservedKey, Step[]> = {
    absent: ['create'],
    pending_deletion: ['cancel_deletion', 'enable'],
    pending_import: ['import'],
    disabled: ['enable'],
    enabled: [],
    // Key Protect and AWS KMS never take back material they once held, nor does a token hold two objects by one label: the copy is replaced.
    wrong_key: ['schedule_deletion', 'create'],
  };
  const toDisabled: Record<ObservedKey, Step[]> = {
    absent: ['create', 'disable'],
    pending_deletion: ['cancel_deletion'],
    pending_import: ['import', 'disable'],
    disabled: [],
    enabled: ['disable'],
    wrong_key: ['schedule_deletion', 'create', 'disable'],
  };
  return (expected === 'enabled' ? toEnabled : toDisabled)[observed];
}
