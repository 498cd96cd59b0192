import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedIn, judge, statusOf, stepsTo } from './sync-model.ts';

describe('the sync model', () => {
  it('expects a pre-active or destroyed key absent, an active key enabled, a deactivated key disabled', () => {
    assert.equal(expectedIn('pre_activation'), 'absent');
    assert.equal(expectedIn('destroyed'), 'absent');
    assert.equal(expectedIn('active'), 'enabled');
    assert.equal(expectedIn('deactivated'), 'disabled');
  });

  it('counts a key pending deletion as not present and one awaiting its material as not active', () => {
    assert.equal(statusOf('pending_deletion'), 'not_present');
    assert.equal(statusOf('pending_import'), 'not_active');
    assert.equal(statusOf('enabled'), 'active');
  });

  it("flags a keystore whose copy differs with IBM's detail for the managed key's state", () => {
    assert.deepEqual(judge('active', 'active'), { syncFlag: 'ok', syncFlagDetail: 'active_key_is_active_in_keystore' });
    assert.deepEqual(judge('active', 'not_active'), { syncFlag: 'out_of_sync', syncFlagDetail: 'active_key_is_not_active_in_keystore' });
    assert.deepEqual(judge('deactivated', 'active'), { syncFlag: 'out_of_sync', syncFlagDetail: 'deactivated_key_is_not_deactivated_in_keystore' });
    assert.deepEqual(judge('destroyed', 'not_active'), { syncFlag: 'out_of_sync', syncFlagDetail: 'destroyed_key_is_present_in_keystore' });
    assert.deepEqual(judge('pre_activation', 'not_present'), { syncFlag: 'ok', syncFlagDetail: 'pre_active_key_is_not_present_in_keystore' });
    assert.deepEqual(judge('active', 'error'), { syncFlag: 'error', syncFlagDetail: 'connection_error' });
  });

  it('restores an active key scheduled for deletion outside the orchestrator by cancelling the deletion and enabling it', () => {
    assert.deepEqual(stepsTo('enabled', 'pending_deletion'), ['cancel_deletion', 'enable']);
    assert.deepEqual(stepsTo('enabled', 'absent'), ['create']);
    assert.deepEqual(stepsTo('enabled', 'pending_import'), ['import']);
    assert.deepEqual(stepsTo('disabled', 'enabled'), ['disable']);
    assert.deepEqual(stepsTo('disabled', 'absent'), ['create', 'disable']);
    assert.deepEqual(stepsTo('absent', 'disabled'), ['schedule_deletion']);
  });

  it('reports a copy holding other material as wrong_key, out of sync, and replaces it on sync', () => {
    assert.equal(statusOf('wrong_key'), 'wrong_key');
    assert.deepEqual(judge('active', 'wrong_key'), { syncFlag: 'out_of_sync', syncFlagDetail: 'active_key_is_not_active_in_keystore' });
    assert.deepEqual(stepsTo('enabled', 'wrong_key'), ['schedule_deletion', 'create']);
    assert.deepEqual(stepsTo('disabled', 'wrong_key'), ['schedule_deletion', 'create', 'disable']);
    assert.deepEqual(stepsTo('absent', 'wrong_key'), ['schedule_deletion']);
  });

  it('does nothing to a keystore already in the expected state', () => {
    assert.deepEqual(stepsTo('enabled', 'enabled'), []);
    assert.deepEqual(stepsTo('disabled', 'disabled'), []);
    assert.deepEqual(stepsTo('absent', 'pending_deletion'), []);
    assert.deepEqual(stepsTo('absent', 'absent'), []);
  });
});
