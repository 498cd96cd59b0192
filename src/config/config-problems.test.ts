import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestName, editDistance } from './closest-name.ts';
import { checkRegionConfig, ConfigError } from './region-config.ts';

const RECOVERY_UNIT = { id: 'rec-1', role: 'recovery', kind: 'software', dir: '/var/lib/concord/rec-1' };
const base = () => ({
  region: 'us-east-1',
  account: '111122223333',
  store: { kind: 'sqlite', path: '/var/lib/concord/us-east-1/keys.db' } as Record<string, unknown>,
  cryptoUnits: {
    units: [{ id: 'op-1', role: 'operational', kind: 'software', dir: '/var/lib/concord/op-1' }, RECOVERY_UNIT],
  } as { units: Record<string, unknown>[] } & Record<string, unknown>,
  accessKeys: [{ accessKeyId: 'AKIAEXAMPLEADMIN0001', secretAccessKey: 'a-long-random-secret', principal: 'arn:aws:iam::111122223333:root' }],
});

const refusal = (mutate: (config: ReturnType<typeof base> & Record<string, unknown>) => void): ConfigError => {
  const config = base() as ReturnType<typeof base> & Record<string, unknown>;
  mutate(config);
  try {
    checkRegionConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('the configuration was accepted');
};

/** Configurations wrong in every way the schema checks. */
const WRONG: Record<string, (config: ReturnType<typeof base> & Record<string, unknown>) => void> = {
  'an unknown top-level field': (c) => (c.listn = { port: 1 }),
  'a store of no known kind': (c) => (c.store = { kind: 'mysql' }),
  'a region not named like one': (c) => (c.region = 'useast1'),
  'an account of 11 digits': (c) => (c.account = '11112222333'),
  'a port that is text': (c) => (c.listen = { port: 'eighty' }),
  'a log level of no known name': (c) => (c.logLevel = 'verbose'),
  'a unit of no known role': (c) => (c.cryptoUnits.units = [{ id: 'op-1', role: 'primary', kind: 'software', dir: '/u' }, RECOVERY_UNIT]),
  'a PKCS#11 unit naming no token': (c) =>
    (c.cryptoUnits.units = [{ id: 'op-1', role: 'operational', kind: 'pkcs11', module: '/m.so', pin: '1' }, RECOVERY_UNIT]),
  'an administrator with a key file and no password': (c) => (c.cryptoUnits.administrators = [{ name: 'ops', sigkeyFile: '/k.json' }]),
  'metrics with no listener and no token': (c) => (c.metrics = {}),
  'a peer not named like a region': (c) => (c.peers = { west: { url: 'http://x', publicKey: 'A'.repeat(40) } }),
  'an access key ID in lowercase': (c) =>
    (c.accessKeys = [{ accessKeyId: 'akiaexample', secretAccessKey: 'a-long-random-secret', principal: 'arn:aws:iam::111122223333:root' }]),
};

describe('configuration errors in plain words', () => {
  for (const [what, mutate] of Object.entries(WRONG)) {
    it(`explain ${what} with no regular expression, schema keyword or ajv wording`, () => {
      const { message } = refusal(mutate);
      assert.match(message, /^invalid configuration: \S/);
      assert.doesNotMatch(message, /oneOf|anyOf|allOf|must match|pattern|\^|\$|\\d|additional properties|must NOT|\(top level\)/);
    });
  }

  it('suggest the field an unknown one most likely meant', () => {
    assert.match(refusal(WRONG['an unknown top-level field']!).message, /listn is not a known field; did you mean listen\?/);
    assert.match(refusal((c) => (c.store = { kind: 'sqlite', pth: '/k.db' })).message, /store\.pth is not a known field; did you mean store\.path\?/);
    assert.match(refusal((c) => (c.cryptoUnits.autoinit = true)).message, /cryptoUnits\.autoinit is not a known field; did you mean cryptoUnits\.autoInit\?/);
  });

  it('list the fields when an unknown one resembles none', () => {
    assert.match(
      refusal((c) => (c.store = { kind: 'sqlite', path: '/k.db', replicas: 3 })).message,
      /store\.replicas is not a known field; the fields here are kind, path$/,
    );
  });

  it('list the allowed values of a choice, with the value given', () => {
    assert.match(refusal(WRONG['a store of no known kind']!).message, /store\.kind must be one of: sqlite, postgres \(it is 'mysql'\)/);
    assert.match(
      refusal(WRONG['a log level of no known name']!).message,
      /logLevel must be one of: fatal, error, warn, info, debug, trace, silent \(it is 'verbose'\)/,
    );
  });

  it('never repeat a secret given in the wrong form', () => {
    const { message } = refusal(
      (c) => (c.accessKeys = [{ accessKeyId: 'AKIAEXAMPLEADMIN0001', secretAccessKey: 'short-secret', principal: 'arn:aws:iam::111122223333:root' }]),
    );
    assert.match(message, /accessKeys\.0\.secretAccessKey must be at least 16 characters long/);
    assert.doesNotMatch(message, /short-secret/);
  });

  it('say in words what a field must look like', () => {
    assert.match(refusal(WRONG['a region not named like one']!).message, /region must be a region name such as us-east-1 .*\(it is 'useast1'\)/);
    assert.match(refusal(WRONG['a peer not named like a region']!).message, /peers\.west is not a region name such as us-east-1/);
    assert.match(refusal(WRONG['a port that is text']!).message, /listen\.port must be a whole number/);
  });

  it('name fields as the user wrote them when renamed, such as command-line flags', () => {
    const renamed = refusal(WRONG['a region not named like one']!).renamed((field) => (field === 'region' ? '--regions' : undefined));
    assert.match(renamed.message, /^invalid configuration: --regions must be a region name/);
  });
});

describe('the closest name to a mistyped one', () => {
  it('counts insertions, deletions and substitutions, ignoring case', () => {
    assert.equal(editDistance('listn', 'listen'), 1);
    assert.equal(editDistance('autoinit', 'autoInit'), 0);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('is the nearest candidate within a third of the name, or none', () => {
    assert.equal(closestName('acount', ['account', 'accessKeys']), 'account');
    assert.equal(closestName('replicas', ['kind', 'path']), undefined);
  });
});
