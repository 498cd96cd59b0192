import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Caller } from './region-context.ts';
import { TEST_ACCOUNT, testKeyService } from './test-key-service.ts';

describe('KeyService.call', () => {
  const { store, service } = testKeyService('call');
  const caller: Caller = { arn: `arn:aws:iam::${TEST_ACCOUNT}:root`, account: TEST_ACCOUNT };
  after(() => store.close());

  it('performs an operation from its typed request and answers its typed response', async () => {
    const { KeyMetadata } = await service.call('CreateKey', { Description: 'typed' }, caller);
    const { CiphertextBlob } = await service.call('Encrypt', { KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('wrapped') }, caller);
    const { Plaintext } = await service.call('Decrypt', { CiphertextBlob }, caller);
    assert.equal(Plaintext?.toString(), 'wrapped');
  });

  it('refuses the multi-Region operations when no multi-Region module added them', async () => {
    assert.equal(service.performs('ReplicateKey'), false);
    assert.equal(service.performs('Encrypt'), true);
    await assert.rejects(service.call('ReplicateKey', { KeyId: 'mrk-1', ReplicaRegion: 'us-west-2' }, caller), { name: 'UnknownOperationException' });
  });
});
