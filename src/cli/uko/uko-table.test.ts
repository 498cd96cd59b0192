import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allInSync, statusTable, ukoTable, type KeyStatus } from './uko-table.ts';

const keystore = { id: 'ks-1', name: 'eu', type: 'aws_kms' };
const drifted: KeyStatus = {
  managed_key: { id: 'k-1', label: 'orders' },
  status_in_keystores: [
    {
      keystore,
      status: 'not_active',
      keystore_sync_flag: 'out_of_sync',
      keystore_sync_flag_detail: 'active_key_is_not_active_in_keystore',
      error: { errors: [{ code: 'keystore_operation_failed', message: 'AccessDenied' }] },
    },
  ],
};
const inSync: KeyStatus = {
  managed_key: { id: 'k-2', label: 'payments' },
  status_in_keystores: [{ keystore, status: 'active', keystore_sync_flag: 'ok', keystore_sync_flag_detail: '' }],
};

describe('the concord uko tables', () => {
  it('pads every column but the last to its widest cell', () => {
    assert.equal(ukoTable(['ID', 'NAME'], [['a-long-id', 'x']]), 'ID         NAME\na-long-id  x\n');
  });

  it("shows one row per key and keystore, with the flag's detail and the keystore's reason", () => {
    const lines = statusTable([drifted, inSync]).split('\n');
    assert.match(lines[0]!, /^MANAGED KEY\s+LABEL\s+KEYSTORE\s+STATUS\s+SYNC\s+DETAIL$/);
    assert.match(lines[1]!, /^k-1\s+orders\s+eu\s+not_active\s+out_of_sync\s+active_key_is_not_active_in_keystore: AccessDenied$/);
    assert.match(lines[2]!, /^k-2\s+payments\s+eu\s+active\s+ok$/);
  });

  it('shows a key that could not be read as an error row', () => {
    const failed: KeyStatus = { managed_key: { id: 'k-3', label: 'gone' }, error: '404 managed_key_not_found: no such key' };
    assert.match(statusTable([failed]).split('\n')[1]!, /^k-3\s+gone\s+-\s+-\s+error\s+404 managed_key_not_found: no such key$/);
    assert.equal(allInSync([inSync, failed]), false);
  });

  it('calls keys in sync only when every keystore says ok', () => {
    assert.equal(allInSync([inSync]), true);
    assert.equal(allInSync([inSync, drifted]), false);
  });
});
