import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  AUDIT_SOURCES,
  CLOUDHSM_PARAMETERS,
  HSM_PARAMETERS,
  HSM_RESPONSES,
  IBM_PARAMETERS,
  KMS_PARAMETERS,
  KMS_RESPONSES,
  type AuditedRequest,
} from './audit-sources.ts';
import type { AuditEvent } from './audit-event.ts';
import { buildAuditEvent, type AuditScope } from './build-audit-event.ts';
import { canonicalJson } from './canonical-json.ts';

interface Model {
  operations: Record<string, { input: string; output?: string }>;
  shapes: Record<string, { type: string; members?: Record<string, string> }>;
}
const model = JSON.parse(readFileSync(new URL('../server/aws-json/kms-model.json', import.meta.url), 'utf8')) as Model;
const cloudHsmModel = JSON.parse(readFileSync(new URL('../server/cloudhsm/cloudhsm-model.json', import.meta.url), 'utf8')) as Model;
/** Names of members that hold secrets in any surface: none may be on an allow-list (a paging NextToken is not one). */
const SECRET_NAME = /plaintext|payload|ciphertext|api_?key|password|secret|credential|^aad$|signature|(?<!Next)token/i;
const scope = { region: 'us-east-1', account: '111122223333' };

/** The event buildAuditEvent writes, read back. */
function eventOf(request: AuditedRequest, where: AuditScope): { event: AuditEvent; durable: boolean } | undefined {
  const built = buildAuditEvent(request, where);
  return built && { event: JSON.parse(built.json) as AuditEvent, durable: built.durable };
}

function request(overrides: Partial<AuditedRequest>): AuditedRequest {
  return { surface: 'kms', route: 'POST /', headers: {}, status: 200, sourceIp: '10.0.0.1', requestId: 'r', time: 0, ...overrides };
}

const CLUSTER = 'cluster-abcdefghijk';
const HSM = 'hsm-abcdefghijk';
const CLUSTER_ARN = `arn:aws:cloudhsm:us-east-1:111122223333:cluster/${CLUSTER}`;
/** A command of the HSM endpoint, as its surface hands it over. */
const hsmRequest = (eventName: string, input: Record<string, unknown>, output?: unknown): Partial<AuditedRequest> => ({
  surface: 'hsm-shell',
  route: 'POST /hsm/v1/hsms/:hsm/commands/:command',
  eventName,
  input: { ...input, hsm: HSM },
  output,
});

describe('audit sources', () => {
  it('names, for every KMS operation Concord performs, the members its event keeps, and none of them is a blob', () => {
    assert.deepEqual(Object.keys(KMS_PARAMETERS).sort(), Object.keys(model.operations).sort());
    const check = (operation: string, shapeName: string | undefined, kept: readonly string[]) => {
      const members = (shapeName === undefined ? undefined : model.shapes[shapeName])?.members ?? {};
      for (const member of kept) {
        assert.ok(member in members, `${operation}.${member} is not in the model`);
        assert.notEqual(model.shapes[members[member]!]!.type, 'blob', `${operation}.${member} is a blob`);
      }
    };
    for (const [operation, { input, output }] of Object.entries(model.operations)) {
      check(operation, input, KMS_PARAMETERS[operation]!);
      check(operation, output, KMS_RESPONSES[operation] ?? []);
    }
  });

  it('keeps neither the session secret nor the session token of an AssumeRole answer', () => {
    const built = eventOf(
      request({
        surface: 'sts',
        eventName: 'AssumeRole',
        input: { Action: 'AssumeRole', RoleArn: 'arn:aws:iam::111122223333:role/app', RoleSessionName: 's', ExternalId: 'shared-secret' },
        output: {
          Credentials: { AccessKeyId: 'ASIAEXAMPLE00000001', SecretAccessKey: 'the-secret', SessionToken: 'the-token', Expiration: '2026-12-06T20:00:00Z' },
          AssumedRoleUser: { Arn: 'arn:aws:sts::111122223333:assumed-role/app/s', AssumedRoleId: 'AROAX:s' },
        },
      }),
      scope,
    )!;
    const text = JSON.stringify(built.event);
    for (const secret of ['the-secret', 'the-token', 'shared-secret']) assert.ok(!text.includes(secret), secret);
    assert.deepEqual(built.event.responseElements?.credentials, { accessKeyId: 'ASIAEXAMPLE00000001', expiration: '2026-12-06T20:00:00Z' });
    assert.equal(built.event.eventSource, 'sts.amazonaws.com');
    assert.equal(built.durable, true);
  });

  it('tells an assumed role session by its role, and an unauthenticated request by the access key it claimed', () => {
    const session = eventOf(
      request({
        eventName: 'Decrypt',
        caller: {
          accessKeyId: 'ASIAEXAMPLE00000001',
          principal: 'arn:aws:sts::111122223333:assumed-role/app/s',
          session: { roleArn: 'arn:aws:iam::111122223333:role/app' },
        },
      }),
      scope,
    )!.event;
    assert.equal(session.userIdentity.type, 'AssumedRole');
    assert.equal(session.userIdentity.principalId, 'app:s');
    assert.equal(session.userIdentity.sessionContext?.sessionIssuer?.arn, 'arn:aws:iam::111122223333:role/app');
    assert.equal(session.readOnly, true);

    const refused = eventOf(
      request({
        status: 400,
        errorCode: 'UnrecognizedClientException',
        errorMessage: 'The security token included in the request is invalid.',
        headers: {
          'x-amz-target': 'TrentService.Encrypt',
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN000000001/20261206/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
        },
      }),
      scope,
    )!;
    assert.deepEqual(refused.event.userIdentity, { type: 'Unknown', accessKeyId: 'AKIAUNKNOWN000000001' });
    assert.equal(refused.event.eventName, 'Encrypt');
    assert.equal(refused.event.errorCode, 'UnrecognizedClientException');
    assert.equal(refused.durable, false);
  });

  it('names the resolved key as a resource, as an ARN, and a created key by its metadata', () => {
    const arn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const encrypt = eventOf(request({ eventName: 'Encrypt', input: { KeyId: 'alias/app' }, output: { KeyId: arn } }), scope)!.event;
    assert.deepEqual(encrypt.resources, [{ ARN: arn, accountId: '111122223333', type: 'AWS::KMS::Key' }]);
    assert.equal(encrypt.responseElements, null);
    const created = eventOf(request({ eventName: 'CreateKey', input: {}, output: { KeyMetadata: { Arn: arn, KeyId: 'x' } } }), scope)!;
    assert.deepEqual(created.event.responseElements, { keyMetadata: { arn, keyId: 'x' } });
    assert.equal(created.event.resources?.[0]?.ARN, arn);
    assert.equal(created.durable, true);
  });

  it('records nothing for a request no audited surface served', () => {
    assert.equal(eventOf(request({ surface: 'ops' }), scope), undefined);
    assert.equal(eventOf(request({ surface: 'constructor' }), scope), undefined);
    assert.deepEqual(Object.keys(AUDIT_SOURCES).sort(), ['cloudhsm', 'hsm-shell', 'iam', 'keyprotect', 'kms', 'mgmt', 'peer', 'sts', 'uko']);
  });

  it('names, for every CloudHSM operation of the model, the members its event keeps, each in the model and none a blob', () => {
    assert.deepEqual(Object.keys(CLOUDHSM_PARAMETERS).sort(), Object.keys(cloudHsmModel.operations).sort());
    for (const [operation, kept] of Object.entries(CLOUDHSM_PARAMETERS)) {
      const members = cloudHsmModel.shapes[cloudHsmModel.operations[operation]!.input]?.members ?? {};
      for (const member of kept) {
        assert.ok(member in members, `${operation}.${member} is not in the model`);
        assert.notEqual(cloudHsmModel.shapes[members[member]!]!.type, 'blob', `${operation}.${member} is a blob`);
      }
    }
  });

  it('allow-lists no member whose name says it holds a secret, in any source', () => {
    const lists = [
      ...Object.values(KMS_PARAMETERS),
      ...Object.values(KMS_RESPONSES),
      ...Object.values(CLOUDHSM_PARAMETERS),
      ...Object.values(IBM_PARAMETERS),
      ...Object.values(HSM_PARAMETERS),
      ...Object.values(HSM_RESPONSES),
    ];
    for (const member of lists.flat()) assert.doesNotMatch(member, SECRET_NAME);
    for (const source of Object.values(AUDIT_SOURCES)) {
      const secrets = { Plaintext: 'p', plaintext: 'p', payload: 'p', ciphertext: 'c', apikey: 'k', password: 'w', refresh_token: 't', aad: ['a'] };
      assert.equal(source.requestParameters('wrap', secrets), null, source.eventSource);
      assert.equal(source.responseElements('wrap', { ...secrets, access_token: 't' }), null, source.eventSource);
    }
  });

  it('records a Key Protect wrap by its action and key, the token’s principal, and never the payload', () => {
    const built = eventOf(
      request({
        surface: 'keyprotect',
        route: 'POST /api/v2/keys/:id/actions/:action',
        eventName: 'wrap',
        caller: { accessKeyId: 'ApiKey-1', principal: 'arn:aws:iam::111122223333:user/app' },
        input: { id: '1234abcd-12ab-34cd-56ef-1234567890ab', action: 'wrap', plaintext: 'c2VjcmV0', aad: ['x'] },
        output: { ciphertext: 'blob' },
      }),
      scope,
    )!;
    assert.equal(built.event.eventSource, 'keyprotect.concord');
    assert.deepEqual(built.event.requestParameters, { id: '1234abcd-12ab-34cd-56ef-1234567890ab' });
    assert.equal(built.event.responseElements, null);
    assert.equal(built.event.resources?.[0]?.ARN, 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    assert.equal(built.event.userIdentity.arn, 'arn:aws:iam::111122223333:user/app');
    assert.equal(built.event.readOnly, true);
    assert.equal(built.durable, false);
  });

  it('records a refused bearer or SigV4 request of the new surfaces by its route or claimed operation, as Unknown', () => {
    const refused = (overrides: Partial<AuditedRequest>) => eventOf(request({ status: 401, errorCode: 'E', ...overrides }), scope)!.event;
    const kp = refused({ surface: 'keyprotect', route: 'POST /api/v2/keys', headers: { authorization: 'Bearer eyJhbGciOi.secret.sig' } });
    assert.equal(kp.eventName, 'POST /api/v2/keys');
    assert.deepEqual(kp.userIdentity, { type: 'Unknown' });
    assert.ok(!JSON.stringify(kp).includes('eyJhbGciOi'));
    const hsm = refused({ surface: 'cloudhsm', headers: { 'x-amz-target': 'BaldrApiService.DeleteCluster' } });
    assert.deepEqual([hsm.eventSource, hsm.eventName], ['cloudhsm.amazonaws.com', 'DeleteCluster']);
    assert.equal(refused({ surface: 'cloudhsm', headers: { 'x-amz-target': 'TrentService.Encrypt' } }).eventName, 'Unknown');
    assert.equal(refused({ surface: 'iam', route: 'POST /identity/token', eventName: 'GetToken', input: { grant_type: 'g' } }).eventSource, 'iam.concord');
  });

  it('makes every event with its members in sorted order, so that JSON.stringify writes its canonical JSON', () => {
    const root = { accessKeyId: 'AKIAROOT000000000001', principal: 'arn:aws:iam::111122223333:root' };
    const user = { accessKeyId: 'AKIAUSER000000000001', principal: 'arn:aws:iam::111122223333:user/bob', session: {} };
    const role = {
      accessKeyId: 'ASIAROLE000000000001',
      principal: 'arn:aws:sts::111122223333:assumed-role/app/s',
      session: { roleArn: 'arn:aws:iam::111122223333:role/app' },
    };
    const requests: Partial<AuditedRequest>[] = [
      {
        eventName: 'CreateKey',
        caller: root,
        input: { Tags: [{ TagValue: 'v', TagKey: 'k' }], Description: 'd', Policy: '{}' },
        output: {
          KeyMetadata: {
            KeyId: 'k',
            Arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
            CreationDate: new Date(0),
            MultiRegionConfiguration: { PrimaryKey: { Region: 'r', Arn: 'a' } },
          },
        },
      },
      { eventName: 'Encrypt', caller: user, input: { KeyId: 'alias/a', EncryptionContext: { zeta: '1', Alpha: '2', __proto__: '3' } } },
      {
        eventName: 'CreateGrant',
        caller: role,
        input: { KeyId: 'k', Constraints: { EncryptionContextSubset: { b: '1', a: '2' } }, Operations: ['Encrypt'] },
        output: { GrantId: 'g', GrantToken: 't' },
      },
      { status: 403, errorCode: 'AccessDeniedException', errorMessage: 'no', headers: { 'x-amz-target': 'TrentService.Decrypt' } },
      // What callers choose, escaped: quotes, backslashes, control and non-ASCII characters.
      {
        status: 400,
        errorCode: 'ValidationException',
        errorMessage: 'bad "value" \\ \n\u0001 é ✓',
        headers: { 'user-agent': 'agent "x"\\\t', 'x-amz-target': 'TrentService.Encrypt' },
        sourceIp: '::ffff:10.0.0.1',
        requestId: 'id "1"',
      },
      { eventName: 'Encrypt', caller: user, input: { KeyId: 'alias/a', EncryptionContext: { 'quote"d': 'line\nbreak', ü: '\u2028' } } },
      { status: 500 },
      {
        surface: 'sts',
        eventName: 'AssumeRole',
        caller: root,
        input: { RoleArn: 'r', RoleSessionName: 's' },
        output: { Credentials: { AccessKeyId: 'A', Expiration: 'e' }, AssumedRoleUser: { Arn: 'a', AssumedRoleId: 'i' } },
      },
      { surface: 'mgmt', eventName: 'GenerateMasterKey', caller: root, input: { unitId: 'u', command: 'mk-generate' } },
      { surface: 'peer', eventName: 'sync', input: { action: 'sync' }, headers: { 'x-concord-peer-region': 'us-west-2' } },
      { surface: 'keyprotect', eventName: 'wrap', caller: user, input: { state: '1', id: '1234abcd-12ab-34cd-56ef-1234567890ab', alias: 'a' } },
      { surface: 'uko', eventName: 'CreateVault', caller: user, input: { dry_run: 'true' }, output: { id: 'v' } },
      { surface: 'iam', eventName: 'GetToken', caller: user, input: { grant_type: 'g' } },
      { surface: 'cloudhsm', eventName: 'DescribeClusters', caller: role, input: { MaxResults: 5, Filters: { states: ['ACTIVE'], clusterIds: ['c'] } } },
      {
        ...hsmRequest('createUser', { type: 'CU', name: 'alice', password: 'p' }),
        hsm: { clusterId: CLUSTER, hsmId: HSM, user: { id: 1, name: 'admin', type: 'PCO' } },
      },
      { ...hsmRequest('login', { type: 'CU', name: 'alice', password: 'p' }), status: 401, errorCode: 'LoginFailed', hsm: { clusterId: CLUSTER, hsmId: HSM } },
    ];
    for (const overrides of requests) {
      const { json } = buildAuditEvent(request(overrides), scope)!;
      assert.equal(json, canonicalJson(JSON.parse(json)), json);
    }
  });

  it('records an HSM user creation by the HSM user who made it, with the cluster and HSM as resources, and neither password', () => {
    const officer = { clusterId: CLUSTER, hsmId: HSM, user: { id: 1, name: 'admin', type: 'PCO' } };
    const built = eventOf(
      request({ ...hsmRequest('createUser', { type: 'CO', name: 'officer2', password: 'Hunter2-new-password' }, { userId: 3 }), hsm: officer }),
      scope,
    )!;
    assert.equal(built.event.eventSource, 'hsm.concord');
    assert.equal(built.event.eventName, 'createUser');
    assert.deepEqual(built.event.additionalEventData, { opcode: 'CN_CREATE_CO' });
    assert.deepEqual(built.event.requestParameters, { hsm: HSM, name: 'officer2', type: 'CO' });
    assert.deepEqual(built.event.responseElements, { userId: 3 });
    assert.deepEqual(built.event.userIdentity, {
      accountId: '111122223333',
      arn: `${CLUSTER_ARN}/user/admin`,
      clusterId: CLUSTER,
      hsmId: HSM,
      hsmUserType: 'PCO',
      principalId: '1',
      type: 'HSMUser',
      userName: 'admin',
    });
    assert.deepEqual(built.event.resources, [
      { ARN: CLUSTER_ARN, accountId: '111122223333', type: 'AWS::CloudHSM::Cluster' },
      { ARN: `${CLUSTER_ARN}/hsm/${HSM}`, accountId: '111122223333', type: 'AWS::CloudHSM::Hsm' },
    ]);
    assert.equal(built.durable, true);
    assert.ok(!JSON.stringify(built.event).includes('Hunter2'));
  });

  it('records a refused HSM login with the user it tried and its error; never the password tried, nor the name of a user that does not exist', () => {
    const refused = (name: string, user?: { id: number; name: string; type: string }) =>
      eventOf(
        request({
          ...hsmRequest('login', { type: 'CU', name, password: 'wrong-password-1' }),
          route: 'POST /hsm/v1/hsms/:hsm/login',
          status: 401,
          errorCode: 'LoginFailed',
          errorMessage: 'invalid password',
          hsm: { clusterId: CLUSTER, hsmId: HSM, user },
        }),
        scope,
      )!;
    const wrong = refused('alice', { id: 2, name: 'alice', type: 'CU' });
    assert.deepEqual([wrong.event.errorCode, wrong.event.errorMessage, wrong.durable], ['LoginFailed', 'invalid password', false]);
    assert.deepEqual([wrong.event.userIdentity.type, wrong.event.userIdentity.userName, wrong.event.userIdentity.principalId], ['HSMUser', 'alice', '2']);
    assert.deepEqual(wrong.event.additionalEventData, { opcode: 'CN_LOGIN' });
    assert.deepEqual(wrong.event.requestParameters, { hsm: HSM, type: 'CU' });
    const typedInTheWrongPlace = refused('Passw0rd_typed_as_name');
    assert.deepEqual(typedInTheWrongPlace.event.userIdentity, { clusterId: CLUSTER, hsmId: HSM, type: 'Unknown' });
    assert.doesNotMatch(JSON.stringify([wrong.event, typedInTheWrongPlace.event]), /wrong-password-1|Passw0rd_typed_as_name/);
  });

  it('keeps of a login its user but not its session token, and of a key export or import neither the masked key nor the token', () => {
    const alice = { clusterId: CLUSTER, hsmId: HSM, user: { id: 2, name: 'alice', type: 'CU' } };
    const login = eventOf(
      request({
        ...hsmRequest(
          'login',
          { type: 'CU', name: 'alice', password: 'alice-pass' },
          { session: 'the-session-token', user: { id: 2, name: 'alice', type: 'CU' } },
        ),
        hsm: alice,
      }),
      scope,
    )!;
    assert.deepEqual(login.event.responseElements, { user: { id: 2, name: 'alice', type: 'CU' } });
    const synced = { lineageId: 'l', sealed: 'the-masked-object' };
    const exported = eventOf(request({ ...hsmRequest('exportKey', { handle: 7, session: 'the-session-token' }, { synced }), hsm: alice }), scope)!;
    const imported = eventOf(request({ ...hsmRequest('importKey', { synced }, { handle: 9 }), hsm: alice }), scope)!;
    assert.deepEqual([exported.event.requestParameters, exported.event.responseElements], [{ handle: 7, hsm: HSM }, null]);
    assert.deepEqual([imported.event.requestParameters, imported.event.responseElements], [{ hsm: HSM }, { handle: 9 }]);
    assert.deepEqual(
      [exported.event.additionalEventData, imported.event.additionalEventData],
      [{ opcode: 'CN_EXTRACT_MASKED_OBJECT_USER' }, { opcode: 'CN_INSERT_MASKED_OBJECT_USER' }],
    );
    assert.deepEqual([login.durable, exported.durable, imported.durable], [true, true, true]);
    for (const built of [login, exported, imported]) assert.doesNotMatch(JSON.stringify(built.event), /the-session-token|the-masked-object|alice-pass/);
  });

  it('buffers the HSM reads, names a command refused before it was known by its route, and a request without a session as Unknown', () => {
    const read = eventOf(
      request({ ...hsmRequest('findKey', { label: 'app', keyType: 31 }, { handles: [1] }), hsm: { clusterId: CLUSTER, hsmId: HSM } }),
      scope,
    )!;
    assert.deepEqual([read.event.readOnly, read.durable, read.event.responseElements, read.event.additionalEventData], [true, false, null, undefined]);
    assert.deepEqual(read.event.userIdentity, { clusterId: CLUSTER, hsmId: HSM, type: 'Unknown' });
    const unknown = eventOf(
      request({
        surface: 'hsm-shell',
        route: 'POST /hsm/v1/hsms/:hsm/commands/:command',
        status: 400,
        errorCode: 'InvalidCommand',
        input: { hsm: HSM, password: 'x' },
      }),
      scope,
    )!.event;
    assert.deepEqual(
      [unknown.eventName, unknown.requestParameters, unknown.userIdentity],
      ['POST /hsm/v1/hsms/:hsm/commands/:command', null, { type: 'Unknown' }],
    );
  });
});
