import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialContents, type HsmContents, type HsmUser } from './hsm-contents.ts';
import { deleteKey, findKeys, genKeyPair, genSymKey, keyAttributes, keyInfo } from './hsm-key-commands.ts';
import { changePassword, createUser, HsmUserError, login } from './hsm-users.ts';

/** Contents with an active officer and crypto users alice and bob (scrypt makes this the slow part). */
function contents(): { contents: HsmContents; officer: HsmUser; alice: HsmUser; bob: HsmUser } {
  const c = initialContents();
  const officer = login(c, 'PRECO', 'admin', 'password').user!;
  changePassword(c, officer, 'admin', 'officer-pass');
  return { contents: c, officer, alice: createUser(c, officer, 'CU', 'alice', 'alice-pass'), bob: createUser(c, officer, 'CU', 'bob', 'bob-pass') };
}

describe("key_mgmt_util's key commands", () => {
  const { contents: c, officer, alice, bob } = contents();

  it("gives a symmetric key AWS's key check value: the first 3 bytes of a zero block encrypted under it", () => {
    const handle = genSymKey(c, alice, { type: 31, bytes: 16, label: 'zero', id: 'k-1' });
    c.keys.find((k) => k.handle === handle)!.material = Buffer.alloc(16).toString('base64');
    const attributes = keyAttributes(c, alice, handle);
    assert.deepEqual(
      attributes.find((a) => a.name === 'OBJ_ATTR_KCV'),
      { id: 371, name: 'OBJ_ATTR_KCV', kind: 'hex', value: '66e94b' },
    );
    assert.deepEqual(attributes.map((a) => a.name).slice(0, 3), ['OBJ_ATTR_CLASS', 'OBJ_ATTR_KEY_TYPE', 'OBJ_ATTR_TOKEN']);
    assert.equal(attributes.find((a) => a.name === 'OBJ_ATTR_ID')!.value, 'k-1');
  });

  it('makes RSA and EC key pairs whose public key every crypto user may use and whose private key its maker owns', () => {
    const rsa = genKeyPair(c, alice, { kind: 'RSA', modulusBits: 2048, publicExponent: 65537, label: 'rsa' });
    const ec = genKeyPair(c, alice, { kind: 'EC', curve: 2, label: 'ec' });
    assert.deepEqual(findKeys(c, bob, {}), [rsa.publicHandle, ec.publicHandle]);
    assert.ok(findKeys(c, alice, { class: 3 }).includes(rsa.privateHandle));
    const modulusBits = keyAttributes(c, alice, rsa.privateHandle).find((a) => a.name === 'OBJ_ATTR_MODULUS_BITS');
    assert.equal(modulusBits?.value, 2048);
    assert.equal(
      keyAttributes(c, alice, rsa.privateHandle).find((a) => a.id === 371)!.value,
      keyAttributes(c, bob, rsa.publicHandle).find((a) => a.id === 371)!.value,
    );
    assert.throws(() => genKeyPair(c, alice, { kind: 'RSA', modulusBits: 1024, label: 'weak' }), HsmUserError);
    assert.throws(() => genKeyPair(c, alice, { kind: 'EC', curve: 99, label: 'odd' }), /curve 99 is not supported/);
  });

  it('finds keys by type, class, label and the users who may also use them, and shares at creation with -u', () => {
    const shared = genSymKey(c, alice, { type: 21, bytes: 24, label: 'shared', shareWith: [bob.id] });
    assert.deepEqual(findKeys(c, bob, { label: 'shared' }), [shared]);
    assert.deepEqual(findKeys(c, alice, { type: 21 }), [shared]);
    assert.deepEqual(findKeys(c, alice, { type: 21, users: [bob.id] }), [shared]);
    assert.deepEqual(keyInfo(c, bob, shared), { token: true, owner: alice.id, sharedWith: [bob.id] });
    assert.throws(() => genSymKey(c, alice, { type: 31, bytes: 32, label: 'x', shareWith: [officer.id] }), /not another crypto user/);
  });

  it("lets only the owner delete a key, and answers another crypto user's key as one that does not exist", () => {
    const handle = genSymKey(c, alice, { type: 31, bytes: 32, label: 'mine' });
    assert.throws(() => keyAttributes(c, bob, handle), /key handle \d+ does not exist or is not usable by bob/);
    assert.throws(() => {
      deleteKey(c, bob, handle);
    }, /does not exist or is not usable by bob/);
    assert.deepEqual(keyInfo(c, officer, handle).owner, alice.id);
    assert.throws(() => {
      deleteKey(c, officer, handle);
    }, /only a crypto user manages keys/);
    deleteKey(c, alice, handle);
    assert.ok(!findKeys(c, alice, {}).includes(handle));
  });
});
