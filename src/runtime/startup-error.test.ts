import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoUnitFailure, listenFailure, storeFailure, StartupError } from './startup-error.ts';

const failure = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('start-up failures told in one line', () => {
  it('say which region cannot listen where, and how to choose another port', () => {
    const error = listenFailure('us-east-1', { host: '127.0.0.1', port: 8080 }, failure('EADDRINUSE'));
    assert.ok(error instanceof StartupError);
    assert.match(error.message, /^region us-east-1 cannot listen on 127\.0\.0\.1:8080: the port is in use .*--port.*listen\.port/);
  });

  it('name a database that cannot be opened, and leave an unknown failure as it is', () => {
    const store = { kind: 'sqlite', path: '/var/lib/concord/keys.db' } as const;
    assert.match(
      storeFailure('us-east-1', store, failure('SQLITE_CANTOPEN', 'unable to open database file')).message,
      /^region us-east-1 cannot use its SQLite database \/var\/lib\/concord\/keys\.db: unable to open database file \(SQLITE_CANTOPEN\)$/,
    );
    const unknown = new TypeError('a fault of Concord');
    assert.equal(storeFailure('us-east-1', store, unknown), unknown);
  });

  it('name the PostgreSQL host it cannot reach, never the password in its URL', () => {
    const store = { kind: 'postgres', url: 'postgres://concord:hunter2@db.internal:6543/concord' } as const;
    const { message } = storeFailure('us-east-1', store, failure('ECONNREFUSED'));
    assert.match(message, /PostgreSQL database at db\.internal:6543: it cannot be reached \(ECONNREFUSED\)/);
    assert.doesNotMatch(message, /hunter2/);
    assert.match(
      storeFailure('us-east-1', store, failure('28P01', 'password authentication failed for user "concord"')).message,
      /password authentication failed .*SQLSTATE 28P01/,
    );
  });

  it("name a PKCS#11 unit's token and module, and say a refused PIN in words", () => {
    const unit = { id: 'hsm-1', role: 'operational', kind: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', slot: 3, pin: '1234' } as const;
    const { message } = cryptoUnitFailure(unit, new Error('CKR_PIN_INCORRECT'));
    assert.equal(
      message,
      'crypto unit hsm-1 (PKCS#11 token in slot 3 in /usr/lib/softhsm/libsofthsm2.so) cannot be opened: the token refused the PIN (wrong PIN; check pin or the variable pinEnv names) (CKR_PIN_INCORRECT)',
    );
    assert.doesNotMatch(message, /1234/);
  });
});
