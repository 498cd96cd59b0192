import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { connectionFields, KEYSTORE_TYPES, withConnectionOptions } from './keystore-options.ts';
import { TkeError } from '../tke/tke-error.ts';

/** The options commander parses from `argv` on a command with the connection options. */
const parse = (...argv: string[]) => withConnectionOptions(new Command().exitOverride(), true).parse(argv, { from: 'user' }).opts();

describe('keystore connection options', () => {
  before(() => {
    process.env.CONCORD_UKO_PKCS11_PIN = 'pin-from-env';
  });
  after(() => {
    delete process.env.CONCORD_UKO_PKCS11_PIN;
  });

  it('offers the types Concord orchestrates into, and an option for each of their fields', () => {
    assert.deepEqual(KEYSTORE_TYPES, ['aws_kms', 'ibm_cloud_kms', 'pkcs11']);
    const o = parse('--ibm-api-endpoint', 'http://kp', '--ibm-instance-id', 'i', '--ibm-key-ring', 'ring');
    assert.deepEqual(Object.keys(o), ['ibmApiEndpoint', 'ibmInstanceId', 'ibmKeyRing']);
  });

  it("gives the API's field names of the keystore's type", async () => {
    const o = parse('--pkcs11-module', '/lib.so', '--pkcs11-token-label', 't', '--pkcs11-pin', '1234');
    assert.deepEqual(await connectionFields('pkcs11', o, true), { pkcs11_module: '/lib.so', pkcs11_token_label: 't', pkcs11_pin: '1234' });
  });

  it('refuses a field of another keystore type', async () => {
    await assert.rejects(
      connectionFields('aws_kms', parse('--aws-region', 'eu-west-3', '--pkcs11-pin', '1234'), true),
      new TkeError('--pkcs11-pin is a field of pkcs11 keystores, not of aws_kms ones.'),
    );
  });

  it('takes a secret from the environment on create but not on update, where a variable set for another reason would replace it', async () => {
    const o = parse('--pkcs11-token-label', 't');
    assert.equal((await connectionFields('pkcs11', o, true)).pkcs11_pin, 'pin-from-env');
    assert.deepEqual(await connectionFields('pkcs11', o, false), { pkcs11_token_label: 't' });
  });

  it('refuses a secret given both as an option and on stdin', async () => {
    await assert.rejects(
      connectionFields('pkcs11', parse('--pkcs11-pin', '1234', '--secret-stdin'), true),
      new TkeError('Give --pkcs11-pin or --secret-stdin, not both.'),
    );
  });
});
