import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findAllKeysText, keyInfoText, listUsersText, serverInfoText } from './cmu-format.ts';

/** The expected texts are AWS's pages (cloudhsm-docs), copied line for line. */
describe("cloudhsm_mgmt_util's output formats", () => {
  it('lists users in the columns of the listUsers page', () => {
    const text = listUsersText('server 0(10.0.0.1)', [
      { id: 2, type: 'AU', name: 'app_user', loginFailures: 0 },
      { id: 3, type: 'CU', name: 'crypto_user1', loginFailures: 0 },
    ]);
    assert.equal(
      text,
      'Users on server 0(10.0.0.1):\nNumber of users found:2\n\n' +
        '    User Id             User Type       User Name            MofnPubKey    LoginFailureCnt         2FA\n' +
        '         2              AU              app_user                   NO               0               NO\n' +
        '         3              CU              crypto_user1               NO               0               NO\n',
    );
  });

  it('prints findAllKeys with and without the key hash as the findAllKeys page does', () => {
    const keys = [
      { handle: 8, relation: 's' },
      { handle: 19, relation: 'o' },
    ];
    assert.equal(
      findAllKeysText('server 0(10.0.0.1)', keys, undefined),
      'Keys on server 0(10.0.0.1):\nNumber of keys found 2\nnumber of keys matched from start index 0::2\n8(s),19(o)\nfindAllKeys success on server 0(10.0.0.1)\n\n',
    );
    const hash = '55655676c95547fd4e82189a072ee1100eccfca6f10509077a0d6936a976bd49';
    assert.equal(
      findAllKeysText('server 1(10.0.0.2)', keys, hash),
      `Keys on server 1(10.0.0.2):\nNumber of keys found 2\nnumber of keys matched from start index 0::2\n8(s),19(o)\nKey Hash:\n${hash}\n\nfindAllKeys success on server 1(10.0.0.2)\n`,
    );
  });

  it('prints getKeyInfo with the users a key is shared to, and without', () => {
    assert.equal(
      keyInfoText('server 0(10.0.0.1)', { token: true, owner: 3, sharedWith: [4] }),
      'Key Info on server 0(10.0.0.1):\n\n        Token/Flash Key,\n\n        Owned by user 3\n\n        also, shared to following 1 user(s):\n\n                 4\n',
    );
    assert.equal(
      keyInfoText('server 1(10.0.3.6)', { token: true, owner: 3, sharedWith: [] }),
      'Key Info on server 1(10.0.3.6):\n\n        Token/Flash Key,\n\n        Owned by user 3\n\n',
    );
  });

  it('prints info server as the info page does', () => {
    assert.equal(
      serverInfoText(0, '10.0.0.1', 2225, true, 'hsm-udw0tkfg1ab', { name: 'testuser', type: 'CU' }),
      'Id      Name                    Hostname         Port   State           Partition               LoginState\n' +
        "0       10.0.0.1                10.0.0.1        2225    Connected       hsm-udw0tkfg1ab         Logged in as 'testuser(CU)'\n",
    );
  });
});
