import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DisableKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { instanceIdOf, type Notification } from '../../src/keyprotect/index.ts';
import { eventually } from './eventually.ts';
import { ACCOUNT, BIN } from './harness.ts';
import { bearer, json, KP_APIKEYS, kpClient, kpRegionConfig, rejectsWith, type KeyProtectV2 } from './key-protect-client.ts';
import { startRegionServers, type RegionServers } from './region-servers.ts';

const run = promisify(execFile);
const REGION = 'us-east-1';
const INSTANCE = instanceIdOf(ACCOUNT, REGION);
const BUCKET = `crn:v1:bluemix:public:cloud-object-storage:global:a/${ACCOUNT}:bucket-instance:bucket:photos`;
const MAX_SKEW_MS = 5 * 60 * 1000;

/** A resource's webhook receiver: checks each notification's signature and freshness, keeps what it accepted in order. */
class Receiver {
  readonly events: Notification[] = [];
  rejected = 0;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly publicKey: string) {}

  async start(port = 0): Promise<void> {
    this.server = createServer((request, response) => {
      void read(request).then((body) => {
        const timestamp = String(request.headers['x-concord-timestamp']);
        const signature = String(request.headers['x-concord-signature']);
        const key = createPublicKey({ key: Buffer.from(this.publicKey, 'base64'), format: 'der', type: 'spki' });
        const fresh = Math.abs(Date.now() - Number(timestamp)) < MAX_SKEW_MS;
        if (!fresh || !verify('sha256', Buffer.from(`${timestamp}.${body}`), key, Buffer.from(signature, 'base64'))) {
          this.rejected += 1;
          response.writeHead(401).end();
          return;
        }
        this.events.push(JSON.parse(body) as Notification);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server!.close(() => {
        resolve();
      }),
    );
    this.server!.closeAllConnections();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/kp-events`;
  }
}

async function read(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface Registration {
  keyId: string;
  resourceCrn: string;
  preventKeyDeletion: boolean;
  createdBy: string;
  creationDate: string;
  keyVersion: { id: string };
  lastNotification?: { eventId: string; event: string };
  lastAcknowledgement?: { eventId: string; adopterKeyState: number };
  unacknowledgedEvents: string[];
}

describe('Key Protect registrations, lifecycle notifications to a webhook receiver, event_ack and actions/sync', () => {
  let region: RegionServers;
  let kp: KeyProtectV2;
  let receiver: Receiver;
  let keyId: string;
  const bluemixInstance = INSTANCE;

  const raw = async (method: string, path: string, apikey: string, body?: unknown) => {
    const response = await fetch(`${region.endpoint(REGION)}/api/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await bearer(region.endpoint(REGION), apikey)}`,
        'bluemix-instance': INSTANCE,
        ...(body === undefined ? {} : { 'content-type': 'application/vnd.ibm.kms.registration+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as { resources: Record<string, unknown>[] } | undefined };
  };
  const registrationPath = (crn: string) => `/keys/${keyId}/registrations/${encodeURIComponent(crn)}`;
  const register = (crn: string, resource: Record<string, unknown>, apikey = KP_APIKEYS.service, method = 'POST') =>
    raw(method, registrationPath(crn), apikey, {
      metadata: { collectionType: 'application/vnd.ibm.kms.registration+json', collectionTotal: 1 },
      resources: [resource],
    });
  const registration = async (): Promise<Registration> =>
    ((await kp.getRegistrations({ id: keyId, bluemixInstance })).result as unknown as { resources: Registration[] }).resources[0]!;
  const codeOf = (body: { resources: Record<string, unknown>[] } | undefined) => (body!.resources[0]!.reasons as { code: string }[])[0]!.code;

  before(async () => {
    region = await startRegionServers([REGION], kpRegionConfig({ keyProtect: { syncIntervalSeconds: 2, minRotationIntervalSeconds: 0 } }));
    kp = kpClient(region.endpoint(REGION), KP_APIKEYS.admin);
    receiver = new Receiver(region.publicKey(REGION));
    await receiver.start();
    const created = await kp.createKey({
      bluemixInstance,
      body: json({ resources: [{ type: 'application/vnd.ibm.kms.key+json', name: 'bucket-key', extractable: false }] }),
    });
    keyId = (created.result as unknown as { resources: { id: string }[] }).resources[0]!.id;
  });
  after(async () => {
    await receiver.stop();
    await region.stopAll();
  });

  it('lets services register resources (raw HTTP), not ordinary key users, and lists registrations through the SDK', async () => {
    const created = await register(BUCKET, {
      preventKeyDeletion: true,
      description: 'photos bucket',
      registrationMetadata: JSON.stringify({ webhookUrl: receiver.url }),
    });
    assert.equal(created.status, 201);
    assert.equal((await register(BUCKET, { preventKeyDeletion: true })).status, 409);
    const refused = await register(`${BUCKET}-2`, { preventKeyDeletion: false }, KP_APIKEYS.admin);
    assert.equal(refused.status, 403);
    assert.equal(codeOf(refused.body), 'SERVICE_ONLY_ERR');

    const listed = await registration();
    assert.equal(listed.resourceCrn, BUCKET);
    assert.equal(listed.preventKeyDeletion, true);
    assert.match(listed.createdBy, /^iam-ServiceId-/);
    assert.ok(listed.keyVersion.id);
    const all = (await kp.getRegistrationsAllKeys({ bluemixInstance, urlEncodedResourceCrnQuery: BUCKET, totalCount: true })).result as unknown as {
      metadata: { totalCount: number };
      resources: Registration[];
    };
    assert.equal(all.metadata.totalCount, 1);
    const none = (await kp.getRegistrationsAllKeys({ bluemixInstance, preventKeyDeletion: false })).result as unknown as { resources: Registration[] };
    assert.equal(none.resources.length, 0);
  });

  it('refuses to delete a key whose registration prevents it, through both surfaces', async () => {
    await rejectsWith(kp.deleteKey({ id: keyId, bluemixInstance, force: true }), 409, 'PROTECTED_RESOURCE_ERR');
    await assert.rejects(region.client(REGION).send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })), {
      name: 'KMSInvalidStateException',
    });
  });

  it('notifies the receiver of lifecycle events from both surfaces, signed and in order, and takes its acknowledgement', async () => {
    await kp.rotateKey({ id: keyId, bluemixInstance });
    await region.client(REGION).send(new DisableKeyCommand({ KeyId: keyId }));
    await kp.enableKey({ id: keyId, bluemixInstance });
    await eventually(() => {
      assert.deepEqual(
        receiver.events.map((e) => e.event),
        ['rotate', 'disable', 'enable'],
      );
    });
    assert.deepEqual(
      receiver.events.map((e) => e.keyState),
      [1, 2, 1],
    );
    assert.equal(receiver.rejected, 0);
    const versions = (await kp.getKeyVersions({ id: keyId, bluemixInstance })).result as unknown as { resources: { id: string }[] };
    assert.equal(receiver.events[0]!.keyVersion, versions.resources[0]!.id);

    const last = receiver.events.at(-1)!;
    const ack = await raw('POST', '/event_ack', KP_APIKEYS.service, {
      eventId: last.eventId,
      adopterKeyState: 1,
      timestamp: new Date().toISOString(),
      keyStateData: { keyVersion: last.keyVersion },
    });
    assert.equal(ack.status, 204);
    const acknowledged = await registration();
    assert.equal(acknowledged.lastAcknowledgement?.eventId, last.eventId);
    assert.deepEqual(
      acknowledged.unacknowledgedEvents,
      receiver.events.slice(0, 2).map((e) => e.eventId),
    );
    assert.equal((await raw('POST', '/event_ack', KP_APIKEYS.admin, { eventId: last.eventId, adopterKeyState: 1, timestamp: 'x' })).status, 403);
  });

  it('answers actions/sync 409 within the interval, then renotifies (concord kp sync), and 404 for an unknown key', async () => {
    await rejectsWith(kp.syncAssociatedResources({ id: keyId, bluemixInstance }), 409, 'REQ_TOO_EARLY_ERR');
    await rejectsWith(kp.syncAssociatedResources({ id: '00000000-0000-4000-8000-000000000000', bluemixInstance }), 404, 'NOT_FOUND_ERR');
    const seen = receiver.events.length;
    await eventually(
      async () => {
        await run(process.execPath, [BIN, 'kp', 'sync', keyId, '--endpoint', region.endpoint(REGION), '--apikey', KP_APIKEYS.admin, '--instance', INSTANCE]);
      },
      { intervalMs: 500 },
    );
    await eventually(() => {
      assert.equal(receiver.events.at(-1)?.event, 'sync');
    });
    assert.equal(receiver.events.length, seen + 1);
    assert.equal(receiver.events.at(-1)!.keyState, 1);
  });

  it('delivers what happened while the receiver and Concord were down, once both are back', async () => {
    const port = receiver.port;
    await receiver.stop();
    await kp.rotateKey({ id: keyId, bluemixInstance });
    await region.kill(REGION);
    await region.start(REGION);
    await receiver.start(port);
    await eventually(
      () => {
        assert.equal(receiver.events.at(-1)?.event, 'rotate');
      },
      { timeoutMs: 30000 },
    );
    const delivered = receiver.events.at(-1)!.eventId;
    assert.equal((await registration()).lastNotification?.eventId, delivered);
  });

  it('deletes with force once no registration prevents it, notifies the deletion, and deletes registrations', async () => {
    assert.equal((await register(BUCKET, { preventKeyDeletion: false }, KP_APIKEYS.service, 'PATCH')).status, 200);
    await rejectsWith(kp.deleteKey({ id: keyId, bluemixInstance }), 409, 'PROTECTED_RESOURCE_ERR');
    await kp.deleteKey({ id: keyId, bluemixInstance, force: true });
    await eventually(() => {
      assert.equal(receiver.events.at(-1)?.event, 'delete');
    });
    assert.equal(receiver.events.at(-1)!.keyState, 5);
    assert.equal((await raw('DELETE', registrationPath(BUCKET), KP_APIKEYS.service)).status, 204);
    assert.equal(((await kp.getRegistrations({ id: keyId, bluemixInstance })).result as unknown as { resources: unknown[] }).resources.length, 0);
  });
});
