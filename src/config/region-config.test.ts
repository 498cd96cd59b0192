import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRegionConfig, ConfigError } from './region-config.ts';

const PUBLIC_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE' + 'A'.repeat(88);
const base = {
  region: 'us-east-1',
  account: '111122223333',
  store: { kind: 'sqlite', path: '/var/lib/concord/us-east-1/keys.db' },
  cryptoUnits: {
    units: [
      { id: 'op-1', role: 'operational', kind: 'software', dir: '/var/lib/concord/op-1' },
      { id: 'rec-1', role: 'recovery', kind: 'software', dir: '/var/lib/concord/rec-1' },
    ],
  },
  accessKeys: [{ accessKeyId: 'AKIAEXAMPLEADMIN0001', secretAccessKey: 'a-long-random-secret', principal: 'arn:aws:iam::111122223333:root' }],
};

describe('peer regions in a region configuration', () => {
  it('puts the region identity beside a SQLite store unless told otherwise', () => {
    assert.equal(checkRegionConfig(base).identity?.path, '/var/lib/concord/us-east-1/region-identity.json');
    assert.equal(checkRegionConfig({ ...base, identity: { path: '/etc/concord/identity.json' } }).identity?.path, '/etc/concord/identity.json');
  });

  it('accepts a peer with its URL and public key', () => {
    const config = checkRegionConfig({ ...base, peers: { 'us-west-2': { url: 'http://10.0.0.2:8080', publicKey: PUBLIC_KEY } } });
    assert.deepEqual(config.peers['us-west-2'], { url: 'http://10.0.0.2:8080', publicKey: PUBLIC_KEY });
  });

  it('refuses a peer without a public key to trust, or named like no region', () => {
    assert.throws(() => checkRegionConfig({ ...base, peers: { 'us-west-2': 'http://10.0.0.2:8080' } }), ConfigError);
    assert.throws(() => checkRegionConfig({ ...base, peers: { 'us-west-2': { url: 'http://10.0.0.2:8080' } } }), /publicKey/);
    assert.throws(() => checkRegionConfig({ ...base, peers: { west: { url: 'http://10.0.0.2:8080', publicKey: PUBLIC_KEY } } }), ConfigError);
  });

  it('asks for an identity path when peers share a PostgreSQL store', () => {
    const postgres = { ...base, store: { kind: 'postgres', url: 'postgres://concord@db/concord' } };
    assert.equal(checkRegionConfig(postgres).identity, undefined);
    assert.throws(
      () => checkRegionConfig({ ...postgres, peers: { 'us-west-2': { url: 'http://10.0.0.2:8080', publicKey: PUBLIC_KEY } } }),
      /identity\.path is required/,
    );
  });
});

describe('principals in a region configuration', () => {
  const allowAll = { Statement: { Effect: 'Allow', Action: 'kms:*', Resource: '*' } };
  const withPolicies = (policies: unknown[]) => ({
    ...base,
    principals: [
      { arn: 'arn:aws:iam::111122223333:user/alice', identityPolicies: [allowAll] },
      { arn: 'arn:aws:iam::111122223333:role/app', identityPolicies: policies },
    ],
  });

  it('accepts identity policies in the IAM policy language', () => {
    assert.deepEqual(checkRegionConfig(withPolicies([allowAll])).principals[1]!.identityPolicies, [allowAll]);
  });

  it('refuses a malformed identity policy as a configuration error naming the field', () => {
    const malformed = [
      { Statement: { Effect: 'Permit', Action: 'kms:*', Resource: '*' } },
      { Statement: { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' } },
      { Statement: null },
    ];
    for (const policy of malformed) {
      assert.throws(
        () => checkRegionConfig(withPolicies([allowAll, policy])),
        (error: unknown) => error instanceof ConfigError && /^invalid configuration: principals\.1\.identityPolicies\.1: \S/.test(error.message),
      );
    }
  });
});

describe('the store in a region configuration', () => {
  it('accepts a PostgreSQL store by its URL', () => {
    const store = { kind: 'postgres', url: 'postgres://concord:secret@db.internal:5432/concord' };
    assert.deepEqual(checkRegionConfig({ ...base, store }).store, store);
  });

  it('refuses a store whose fields do not match its kind, naming what is wrong', () => {
    assert.throws(() => checkRegionConfig({ ...base, store: { kind: 'postgres', path: '/tmp/keys.db' } }), /store\.url is required/);
    assert.throws(
      () => checkRegionConfig({ ...base, store: { kind: 'postgres', url: 'http://db' } }),
      /store\.url must be a PostgreSQL URL, postgres:\/\/user:password@host:5432\/database$/,
    );
    assert.throws(
      () => checkRegionConfig({ ...base, store: { kind: 'sqlite', url: 'postgres://db/concord' } }),
      /store\.path is required; store\.url is not a known field; did you mean store\.path\?|store\.path is required/,
    );
    assert.throws(
      () => checkRegionConfig({ ...base, store: { kind: 'mysql', url: 'mysql://db' } }),
      /store\.kind must be one of: sqlite, postgres \(it is 'mysql'\)/,
    );
  });
});

describe('PKCS#11 crypto units in a region configuration', () => {
  const withHsm = (fields: Record<string, string | number | undefined>) => ({
    ...base,
    cryptoUnits: {
      units: [
        { id: 'hsm-1', role: 'operational', kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'concord', ...fields },
        { id: 'rec-1', role: 'recovery', kind: 'software', dir: '/var/lib/concord/rec-1' },
      ],
    },
  });

  it('takes the PIN and the Security Officer PIN from the file or from environment variables it names', () => {
    assert.equal(checkRegionConfig(withHsm({ pin: '1234' })).cryptoUnits.units[0]?.kind, 'pkcs11');
    const unit = checkRegionConfig(withHsm({ pinEnv: 'HSM_PIN', soPinEnv: 'HSM_SO_PIN' })).cryptoUnits.units[0];
    assert.deepEqual(unit && unit.kind === 'pkcs11' && [unit.pin, unit.pinEnv, unit.soPinEnv], [undefined, 'HSM_PIN', 'HSM_SO_PIN']);
  });

  it('names the token by its label or by its slot ID, never both, never neither', () => {
    const unit = checkRegionConfig(withHsm({ tokenLabel: undefined, slot: 1635923699, pin: '1234' })).cryptoUnits.units[0];
    assert.deepEqual(unit && unit.kind === 'pkcs11' && [unit.tokenLabel, unit.slot], [undefined, 1635923699]);
    assert.throws(() => checkRegionConfig(withHsm({ slot: 7, pin: '1234' })), /cryptoUnits\.units\.0 names its token by tokenLabel or by slot, one of the two/);
    assert.throws(
      () => checkRegionConfig(withHsm({ tokenLabel: undefined, pin: '1234' })),
      /cryptoUnits\.units\.0 names its token by tokenLabel or by slot, one of the two/,
    );
    assert.throws(() => checkRegionConfig(withHsm({ tokenLabel: undefined, slot: -1, pin: '1234' })), /cryptoUnits\.units\.0\.slot must be at least 0/);
  });

  it('refuses a unit with no PIN, with both a PIN and its variable, or with a variable not named like one', () => {
    assert.throws(() => checkRegionConfig(withHsm({})), /cryptoUnits\.units\.0 needs pin or pinEnv, one of the two/);
    assert.throws(() => checkRegionConfig(withHsm({ pin: '1234', pinEnv: 'HSM_PIN' })), /cryptoUnits\.units\.0 needs pin or pinEnv, one of the two/);
    assert.throws(
      () => checkRegionConfig(withHsm({ pin: '1234', soPin: '5678', soPinEnv: 'HSM_SO_PIN' })),
      /cryptoUnits\.units\.0 takes soPin or soPinEnv, not both/,
    );
    assert.throws(
      () => checkRegionConfig(withHsm({ pinEnv: '$HSM_PIN' })),
      /cryptoUnits\.units\.0\.pinEnv must be the name of an environment variable \(letters, digits and _\)/,
    );
  });
});

describe('the administrators a region runs the crypto unit ceremony with', () => {
  const withUnits = (ceremony: Record<string, unknown>) => ({ ...base, cryptoUnits: { ...base.cryptoUnits, ...ceremony } });
  const signer = (name: string) => ({ name, sigkeyFile: `/etc/concord/${name}.json`, passwordEnv: `${name.toUpperCase()}_PASSWORD` });

  it('refuses a region without crypto units, and the single-file cryptoUnit of earlier versions, naming them', () => {
    const { cryptoUnits: _units, ...withoutUnits } = base;
    assert.throws(() => checkRegionConfig(withoutUnits), /cryptoUnits is required/);
    assert.throws(
      () => checkRegionConfig({ ...withoutUnits, cryptoUnit: { kind: 'software', path: '/var/lib/concord/crypto-unit.json' } }),
      /cryptoUnit is not a known field; did you mean cryptoUnits\?/,
    );
  });

  it('refuses autoInit or adopt with no administrators: a master key is loaded only through the ceremony', () => {
    for (const ceremony of [{ autoInit: true }, { adopt: '/var/lib/concord/crypto-unit.json' }]) {
      assert.throws(
        () => checkRegionConfig(withUnits(ceremony)),
        /cryptoUnits\.autoInit and cryptoUnits\.adopt load a master key through the ceremony, which needs cryptoUnits\.administrators/,
      );
    }
    assert.equal(checkRegionConfig(withUnits({})).cryptoUnits.administrators, undefined);
  });

  it('takes administrators by public key or by a signature key file with its password or the variable holding it; thresholds 1 by default', () => {
    const config = checkRegionConfig(
      withUnits({
        autoInit: true,
        administrators: [signer('alice'), { name: 'bob', publicKey: PUBLIC_KEY }, { name: 'carol', sigkeyFile: '/etc/concord/carol.json', password: 'secret' }],
      }),
    );
    assert.deepEqual(config.cryptoUnits.thresholds, { signature: 1, revocation: 1 });
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators: [{ name: 'alice', sigkeyFile: '/etc/concord/alice.json' }] })),
      /cryptoUnits\.administrators\.0 needs either a publicKey, or a sigkeyFile with its password or passwordEnv \(one of them\)/,
    );
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators: [{ ...signer('alice'), password: 'secret' }] })),
      /cryptoUnits\.administrators\.0 needs either a publicKey, or a sigkeyFile with its password or passwordEnv \(one of them\)/,
    );
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators: [{ ...signer('alice'), publicKey: PUBLIC_KEY }] })),
      /cryptoUnits\.administrators\.0 needs either a publicKey, or a sigkeyFile with its password or passwordEnv \(one of them\)/,
    );
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators: [{ name: 'x'.repeat(31), publicKey: PUBLIC_KEY }] })),
      /name must be at most 30 characters long/,
    );
  });

  it('refuses a signature threshold the region cannot sign for, or a revocation threshold above the administrators', () => {
    const administrators = [signer('alice'), { name: 'bob', publicKey: PUBLIC_KEY }];
    assert.equal(checkRegionConfig(withUnits({ administrators, thresholds: { signature: 1, revocation: 2 } })).cryptoUnits.thresholds.revocation, 2);
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators, thresholds: { signature: 2, revocation: 1 } })),
      /thresholds\.signature is 2, but the region can sign for 1/,
    );
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators, thresholds: { signature: 1, revocation: 3 } })),
      /thresholds\.revocation is 3, more than the 2/,
    );
    assert.throws(
      () => checkRegionConfig(withUnits({ administrators, thresholds: { signature: 0, revocation: 1 } })),
      /thresholds\.signature must be at least 1/,
    );
  });
});

describe('metrics in a region configuration', () => {
  it('serves no /metrics unless configured', () => {
    assert.equal(checkRegionConfig(base).metrics, undefined);
  });

  it('accepts a listener of its own, a bearer token, or the environment variable holding one', () => {
    assert.deepEqual(checkRegionConfig({ ...base, metrics: { listen: { port: 9464 } } }).metrics, { listen: { host: '127.0.0.1', port: 9464 } });
    assert.deepEqual(checkRegionConfig({ ...base, metrics: { bearerToken: 'a-long-scrape-token' } }).metrics, { bearerToken: 'a-long-scrape-token' });
    assert.deepEqual(checkRegionConfig({ ...base, metrics: { bearerTokenEnv: 'CONCORD_METRICS_TOKEN' } }).metrics, { bearerTokenEnv: 'CONCORD_METRICS_TOKEN' });
  });

  it('refuses /metrics open on the API port, a short token, or a token given twice', () => {
    assert.throws(() => checkRegionConfig({ ...base, metrics: {} }), ConfigError);
    assert.throws(() => checkRegionConfig({ ...base, metrics: { listen: { port: 8080 } } }), /metrics\.listen\.port is the API port/);
    assert.throws(() => checkRegionConfig({ ...base, metrics: { bearerToken: 'short' } }), /bearerToken/);
    assert.throws(() => checkRegionConfig({ ...base, metrics: { bearerToken: 'a-long-scrape-token', bearerTokenEnv: 'X' } }), ConfigError);
  });
});

describe('the audit trail in a region configuration', () => {
  it('records requests unless audit.enabled is false, which only a measurement sets', () => {
    assert.deepEqual(checkRegionConfig(base).audit, { enabled: true, retentionDays: 365, signIntervalSeconds: 60 });
    assert.equal(checkRegionConfig({ ...base, audit: { enabled: false } }).audit.enabled, false);
    assert.throws(() => checkRegionConfig({ ...base, audit: { enabled: 'no' } }), /audit\.enabled/);
  });
});

describe('the RSA key pair pool in a region configuration', () => {
  it('fills two pairs of every RSA spec from the start unless told which specs and how many', () => {
    assert.deepEqual(checkRegionConfig(base).keyPairPool, { prefill: ['RSA_2048', 'RSA_3072', 'RSA_4096'], size: 2 });
    assert.deepEqual(checkRegionConfig({ ...base, keyPairPool: { prefill: ['RSA_4096'], size: 4 } }).keyPairPool, { prefill: ['RSA_4096'], size: 4 });
    assert.deepEqual(checkRegionConfig({ ...base, keyPairPool: { prefill: [] } }).keyPairPool, { prefill: [], size: 2 });
  });

  it('refuses specs that are not RSA, a pool of no pairs or of more than 16, and unknown fields, naming the field', () => {
    assert.throws(
      () => checkRegionConfig({ ...base, keyPairPool: { prefill: ['ECC_NIST_P256'] } }),
      /keyPairPool\.prefill\.0 must be one of: RSA_2048, RSA_3072, RSA_4096/,
    );
    assert.throws(() => checkRegionConfig({ ...base, keyPairPool: { prefill: 'RSA_4096' } }), /keyPairPool\.prefill must be a list/);
    assert.throws(() => checkRegionConfig({ ...base, keyPairPool: { size: 0 } }), /keyPairPool\.size must be at least 1/);
    assert.throws(() => checkRegionConfig({ ...base, keyPairPool: { size: 17 } }), /keyPairPool\.size/);
    assert.throws(() => checkRegionConfig({ ...base, keyPairPool: { prefil: ['RSA_4096'] } }), /keyPairPool\.prefil is not a known field/);
  });
});

describe('UKO in a region configuration', () => {
  it('lets pkcs11 keystores name no PKCS#11 library unless it lists them, by absolute path', () => {
    assert.equal(checkRegionConfig(base).uko, undefined);
    const modules = ['/usr/lib/softhsm/libsofthsm2.so'];
    assert.deepEqual(checkRegionConfig({ ...base, uko: { pkcs11Modules: modules } }).uko, { pkcs11Modules: modules });
    assert.throws(() => checkRegionConfig({ ...base, uko: { pkcs11Modules: ['libsofthsm2.so'] } }), /pkcs11Modules/);
    assert.throws(() => checkRegionConfig({ ...base, uko: { pkcs11Module: modules } }), ConfigError);
  });
});
