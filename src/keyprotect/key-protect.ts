import { constants, createPublicKey, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from '../errors/index.ts';
import { keyMetadata, keyPath, type Caller, type KeyMetadata, type KeyRecord, type KeyService } from '../kms/index.ts';
import type { ImportTokens, MaterialBody } from './import-tokens.ts';
import { KpError } from './kp-error.ts';
import {
  defaultKpRecord,
  dualAuthView,
  instanceCrn,
  instanceIdOf,
  KP_STATE,
  kpKeyPath,
  keyCrn,
  payloadAad,
  type KpKeyRecord,
  type KpState,
} from './kp-records.ts';
import type { Registrations } from './registrations.ts';

const DAY_MS = 24 * 3600 * 1000;
/** A deleted key is restorable for 30 days (the KMS key's deletion window) and may be purged after 4 hours. */
const DELETION_WINDOW_DAYS = 30;
const PURGE_AFTER_MS = 4 * 3600 * 1000;
const MAX_NAME = 90;
const MAX_DESCRIPTION = 240;
const MAX_AAD = 255;
/** KMS Encrypt takes up to 4096 bytes of plaintext. */
const MAX_PLAINTEXT = 4096;
const STANDARD_PAYLOAD_MAX = 7_340_032;
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 5000;
const NAME = /^[^,"<>]*$/;
/** Key Protect's alias: 2 to 90 letters, digits, '-' and '_'. */
const ALIAS = /^[A-Za-z0-9_-]{2,90}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** A key ID: a UUID, or a multi-Region key's mrk- ID. */
const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const KEY_TYPE = 'application/vnd.ibm.kms.key+json';

/** Key Protect's view of a key, as the API returns it. */
export type KpKey = Record<string, unknown> & { id: string; state: KpState };

export interface NewKey extends MaterialBody {
  name?: unknown;
  description?: unknown;
  extractable?: unknown;
  keyRingID?: unknown;
}

export interface KeyQuery {
  limit?: number;
  offset?: number;
  states?: KpState[];
  extractable?: boolean;
  /** Only the keys of this key ring (`x-kms-key-ring`). */
  keyRing?: string;
}

/** Who is asking: the caller the policy engine knows, and the IAM ID Key Protect reports as createdBy/deletedBy. */
export interface KpCaller {
  caller: Caller;
  iamId: string;
}

/**
 * The Key Protect API over the region's keys, one instance per account and region. Root keys
 * are the region's symmetric KMS keys, so they are the same keys through both surfaces, and
 * every root key operation is a KeyService call made for the caller: the policy engine
 * authorizes wrap as kms:Encrypt, rotate as kms:RotateKeyOnDemand, and so on. Standard keys
 * exist only here, their payload wrapped under the region's master key, authorized by the
 * caller's identity policies with the KMS action each operation stands for.
 */
export class KeyProtect {
  readonly instanceId: string;
  readonly instanceCrn: string;

  constructor(
    private readonly service: KeyService,
    private readonly registrations: Registrations,
    private readonly importTokens: ImportTokens,
  ) {
    const { account, region } = service.ctx;
    this.instanceId = instanceIdOf(account, region);
    this.instanceCrn = instanceCrn(region, account, this.instanceId);
  }

  async createKey(who: KpCaller, body: NewKey): Promise<KpKey> {
    const name = text(body.name, 'name', MAX_NAME, true)!;
    if (!NAME.test(name)) throw new KpError('BAD_BODY_ERR', 'Key could not be created', 'name');
    const description = text(body.description, 'description', MAX_DESCRIPTION, false);
    const keyRingID = text(body.keyRingID, 'keyRingID', 100, false) ?? 'default';
    if (body.extractable !== undefined && typeof body.extractable !== 'boolean') throw new KpError('BAD_BODY_ERR', 'Key could not be created', 'extractable');
    const extractable = body.extractable === true;
    // Import tokens bring root key material only; a root key's material is checked and taken before any key is made.
    if (extractable && (body.encryptedNonce !== undefined || body.iv !== undefined)) throw new KpError('KEY_ROOT_REQ_ERR', 'Key could not be created');
    if (!extractable) await this.service.authorizeIdentity(who.caller, 'CreateKey');
    const payload = extractable
      ? body.payload === undefined
        ? undefined
        : base64(body.payload, 'payload', STANDARD_PAYLOAD_MAX)
      : await this.importTokens.material(body, 'Key could not be created');
    const now = this.service.ctx.now();
    const base = { name, ...(description !== undefined ? { description } : {}), keyRingID, extractable, createdBy: who.iamId, lastActionAt: now };
    if (extractable) {
      await this.service.authorizeIdentity(who.caller, 'CreateKey');
      const id = randomUUID();
      const material = payload ?? randomBytes(32);
      const wrapped = await this.service.ctx.unit.wrap(material, payloadAad(id));
      const record: KpKeyRecord = {
        id,
        ...base,
        imported: payload !== undefined,
        standard: { state: KP_STATE.active, creationDate: now, lastUpdateDate: now, wrappedPayload: wrapped.toString('base64') },
      };
      await this.service.ctx.store.transaction((tx) => tx.create(kpKeyPath(id), JSON.stringify(record)));
      return this.standardView(record, false);
    }
    const created = await this.service.call(
      'CreateKey',
      { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Description: description ?? name, ...(payload ? { Origin: 'EXTERNAL' } : {}) },
      who.caller,
    );
    const id = created.KeyMetadata!.KeyId;
    // The key event subscriber wrote the record when the key was created; this adds its name.
    const record = await this.update(id, (r) => ({ ...r, ...base, imported: payload !== undefined }));
    if (payload) await this.importMaterial(who.caller, id, payload);
    return this.rootView(await this.describe(who.caller, id), record);
  }

  async listKeys(who: KpCaller, query: KeyQuery): Promise<{ total: number; keys: KpKey[] }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new KpError('BAD_BODY_ERR', 'Keys could not be listed', 'limit');
    if (!Number.isInteger(offset) || offset < 0) throw new KpError('BAD_BODY_ERR', 'Keys could not be listed', 'offset');
    const states = new Set<number>(query.states ?? [KP_STATE.preActivation, KP_STATE.active, KP_STATE.suspended, KP_STATE.deactivated]);
    const all: KpKey[] = [];
    if (query.extractable !== true) {
      for (let marker: string | undefined; ;) {
        const page = await this.service.call('ListKeys', { Limit: 1000, ...(marker !== undefined ? { Marker: marker } : {}) }, who.caller);
        for (const { KeyId } of page.Keys ?? []) {
          const view = await this.rootKeyIfVisible(KeyId!);
          if (view) all.push(view);
        }
        if (!page.Truncated) break;
        marker = page.NextMarker;
      }
    }
    if (query.extractable !== false) {
      await this.service.authorizeIdentity(who.caller, 'ListKeys');
      for (const entry of await this.service.ctx.store.list('kp/key/')) {
        const record = JSON.parse(entry.value) as KpKeyRecord;
        if (record.standard && !record.purged) all.push(this.standardView(record, false));
      }
    }
    const matching = all
      .filter((key) => states.has(key.state) && (query.keyRing === undefined || key.keyRingID === query.keyRing))
      .sort((a, b) => String(a.creationDate).localeCompare(String(b.creationDate)));
    return { total: matching.length, keys: matching.slice(offset, offset + limit) };
  }

  /**
   * POST /keys/{id}/aliases/{alias}: an alias of a root key is the KMS alias alias/<alias>, so
   * it names the key through both surfaces (kms:CreateAlias).
   */
  async createAlias(who: KpCaller, id: string, alias: string): Promise<Record<string, unknown>> {
    const action = 'Key alias could not be created';
    if (!ALIAS.test(alias) || KEY_ID.test(alias)) throw new KpError('BAD_BODY_ERR', action, 'alias');
    if ((await this.record(id))?.standard) throw new KpError('KEY_ROOT_REQ_ERR', action);
    await this.kms(() => this.service.call('CreateAlias', { AliasName: `alias/${alias}`, TargetKeyId: id }, who.caller), action);
    await this.update(id, (r) => ({ ...r, aliases: [...(r.aliases ?? []), alias] }));
    return { keyId: id, alias, creationDate: iso(this.service.ctx.now()), createdBy: who.iamId };
  }

  /** DELETE /keys/{id}/aliases/{alias} (kms:DeleteAlias). */
  async deleteAlias(who: KpCaller, id: string, alias: string): Promise<void> {
    const action = 'Key alias could not be deleted';
    const record = await this.record(id);
    if (!ALIAS.test(alias) || !(record?.aliases ?? []).includes(alias)) throw new KpError('NOT_FOUND_ERR', action);
    await this.kms(() => this.service.call('DeleteAlias', { AliasName: `alias/${alias}` }, who.caller), action);
    await this.update(id, (r) => ({ ...r, aliases: (r.aliases ?? []).filter((a) => a !== alias) }));
  }

  /** The key an ID or alias names: GET /keys/{id} takes either (kms:DescribeKey resolves the alias). */
  async resolve(who: KpCaller, idOrAlias: string): Promise<string> {
    if (KEY_ID.test(idOrAlias) || !ALIAS.test(idOrAlias)) return idOrAlias;
    return (await this.describe(who.caller, `alias/${idOrAlias}`)).KeyId;
  }

  /** GET /keys/{id}: a root key's metadata, or a standard key with its payload (kms:Decrypt, as it reveals the material). */
  async getKey(who: KpCaller, id: string): Promise<KpKey> {
    const record = await this.record(id);
    if (record?.standard) {
      await this.service.authorizeIdentity(who.caller, 'Decrypt');
      return this.standardView(record, true);
    }
    return this.rootView(await this.describe(who.caller, id), record);
  }

  async metadata(who: KpCaller, id: string): Promise<KpKey> {
    const record = await this.record(id);
    if (record?.standard) {
      await this.service.authorizeIdentity(who.caller, 'DescribeKey');
      return this.standardView(record, false);
    }
    return this.rootView(await this.describe(who.caller, id), record);
  }

  async wrap(who: KpCaller, id: string, body: { plaintext?: unknown; aad?: unknown }): Promise<Record<string, unknown>> {
    await this.requireRoot(id, 'Key could not be wrapped');
    const context = encryptionContext(body.aad);
    const keyVersion = async () => ({ id: await this.currentVersion(id) });
    if (body.plaintext === undefined) {
      const generated = await this.kms(
        () => this.service.call('GenerateDataKey', { KeyId: id, KeySpec: 'AES_256', ...context }, who.caller),
        'Key could not be wrapped',
      );
      return { plaintext: generated.Plaintext!.toString('base64'), ciphertext: generated.CiphertextBlob!.toString('base64'), keyVersion: await keyVersion() };
    }
    const plaintext = base64(body.plaintext, 'plaintext', MAX_PLAINTEXT);
    const encrypted = await this.kms(
      () => this.service.call('Encrypt', { KeyId: id, Plaintext: plaintext, ...context }, who.caller),
      'Key could not be wrapped',
    );
    return { ciphertext: encrypted.CiphertextBlob!.toString('base64'), keyVersion: await keyVersion() };
  }

  /** Unwraps; a ciphertext under an older version comes back rewrapped under the current one too, as Key Protect does. */
  async unwrap(who: KpCaller, id: string, body: { ciphertext?: unknown; aad?: unknown }): Promise<Record<string, unknown>> {
    await this.requireRoot(id, 'Key could not be unwrapped');
    const context = encryptionContext(body.aad);
    const ciphertext = base64(body.ciphertext, 'ciphertext', 64 * 1024, true);
    const decrypted = await this.kms(
      () => this.service.call('Decrypt', { KeyId: id, CiphertextBlob: ciphertext, ...context }, who.caller),
      'Key could not be unwrapped',
    );
    const plaintext = decrypted.Plaintext!;
    const current = await this.currentVersion(id);
    const answer: Record<string, unknown> = { plaintext: plaintext.toString('base64'), keyVersion: { id: decrypted.KeyMaterialId } };
    if (decrypted.KeyMaterialId !== current) {
      const rewrapped = await this.service.call('Encrypt', { KeyId: id, Plaintext: plaintext, ...context }, who.caller);
      answer.ciphertext = rewrapped.CiphertextBlob!.toString('base64');
      answer.rewrappedKeyVersion = { id: current };
    }
    return answer;
  }

  async rewrap(who: KpCaller, id: string, body: { ciphertext?: unknown; aad?: unknown }): Promise<Record<string, unknown>> {
    await this.requireRoot(id, 'Key could not be rewrapped');
    const context = encryptionContext(body.aad).EncryptionContext;
    const ciphertext = base64(body.ciphertext, 'ciphertext', 64 * 1024, true);
    const result = await this.kms(
      () =>
        this.service.call(
          'ReEncrypt',
          {
            CiphertextBlob: ciphertext,
            SourceKeyId: id,
            DestinationKeyId: id,
            ...(context ? { SourceEncryptionContext: context, DestinationEncryptionContext: context } : {}),
          },
          who.caller,
        ),
      'Key could not be rewrapped',
    );
    return {
      ciphertext: result.CiphertextBlob!.toString('base64'),
      keyVersion: { id: result.DestinationKeyMaterialId },
      rewrappedKeyVersion: { id: result.DestinationKeyMaterialId },
    };
  }

  /** A new version; an imported root key needs the new material as `payload`. */
  async rotate(who: KpCaller, id: string, body: MaterialBody): Promise<void> {
    const record = await this.requireRoot(id, 'Key could not be rotated');
    if (record?.imported) {
      if (body.payload === undefined) throw new KpError('KEY_PAYLOAD_REQ_ERR', 'Key could not be rotated', 'payload');
      const payload = (await this.importTokens.material(body, 'Key could not be rotated'))!;
      await this.importMaterial(who.caller, id, payload, true);
    } else if (body.payload !== undefined || body.encryptedNonce !== undefined || body.iv !== undefined) {
      throw new KpError('BAD_BODY_ERR', 'Key could not be rotated', 'payload');
    }
    await this.kms(() => this.service.call('RotateKeyOnDemand', { KeyId: id }, who.caller), 'Key could not be rotated');
  }

  async setEnabled(who: KpCaller, id: string, enabled: boolean): Promise<void> {
    const action = enabled ? 'Key could not be enabled' : 'Key could not be disabled';
    const record = await this.record(id);
    if (record?.standard) throw new KpError('KEY_ROOT_REQ_ERR', action);
    const state = kpState((await this.describe(who.caller, id)).KeyState);
    if (state !== (enabled ? KP_STATE.suspended : KP_STATE.active)) throw new KpError('KEY_ACTION_INVALID_STATE_ERR', action);
    await this.kms(() => this.service.call(enabled ? 'EnableKey' : 'DisableKey', { KeyId: id }, who.caller), action);
  }

  /** Deletes a key: a root key is Destroyed (5) and restorable for 30 days; registrations refuse it unless `force`. */
  async deleteKey(who: KpCaller, id: string, force: boolean): Promise<KpKey> {
    const action = 'Key could not be deleted';
    const record = await this.record(id);
    if (record?.standard) {
      await this.service.authorizeIdentity(who.caller, 'ScheduleKeyDeletion');
      if (record.standard.state === KP_STATE.destroyed) throw new KpError('KEY_DELETED_ERR', action);
      const now = this.service.ctx.now();
      const deleted: KpKeyRecord = {
        ...record,
        deletedBy: who.iamId,
        deletedAt: now,
        standard: { ...record.standard, state: KP_STATE.destroyed, lastUpdateDate: now },
      };
      await this.service.ctx.store.transaction((tx) => {
        tx.put(kpKeyPath(id), JSON.stringify(deleted));
      });
      return this.standardView(deleted, false);
    }
    const before = await this.describe(who.caller, id);
    if (kpState(before.KeyState) === KP_STATE.destroyed) throw new KpError('KEY_DELETED_ERR', action);
    if (!force && (await this.registrations.count(id)) > 0) throw new KpError('PROTECTED_RESOURCE_ERR', action);
    await this.kms(() => this.service.call('ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: DELETION_WINDOW_DAYS }, who.caller), action);
    const updated = await this.update(id, (r) => ({ ...r, deletedBy: who.iamId }));
    return this.rootView(await this.describe(who.caller, id), updated);
  }

  async restoreKey(who: KpCaller, id: string): Promise<KpKey> {
    const action = 'Key could not be restored';
    await this.requireRoot(id, action);
    const before = await this.describe(who.caller, id);
    if (kpState(before.KeyState) !== KP_STATE.destroyed) throw new KpError('KEY_ACTION_INVALID_STATE_ERR', action);
    await this.kms(() => this.service.call('CancelKeyDeletion', { KeyId: id }, who.caller), action);
    await this.kms(() => this.service.call('EnableKey', { KeyId: id }, who.caller), action);
    return this.rootView(await this.describe(who.caller, id), await this.record(id));
  }

  /** Purges a deleted key 4 hours after its deletion: it answers 404 from then on. */
  async purgeKey(who: KpCaller, id: string): Promise<KpKey> {
    const action = 'Key could not be purged';
    const record = await this.record(id);
    const view = record?.standard ? this.standardView(record, false) : this.rootView(await this.describe(who.caller, id), record);
    if (record?.standard) await this.service.authorizeIdentity(who.caller, 'ScheduleKeyDeletion');
    else await this.service.call('DescribeKey', { KeyId: id }, who.caller);
    if (view.state !== KP_STATE.destroyed || record?.deletedAt === undefined) throw new KpError('KEY_ACTION_INVALID_STATE_ERR', action);
    if (this.service.ctx.now() < record.deletedAt + PURGE_AFTER_MS) throw new KpError('REQ_TOO_EARLY_ERR', action);
    await this.update(id, (r) => ({ ...r, purged: true }));
    return view;
  }

  async versions(who: KpCaller, id: string): Promise<{ id: string; creationDate: string }[]> {
    await this.requireRoot(id, 'Key versions could not be listed');
    const created = (await this.describe(who.caller, id)).CreationDate!;
    const versions: { id: string; creationDate: string }[] = [];
    for (let marker: string | undefined; ;) {
      const page = await this.service.call(
        'ListKeyRotations',
        { KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000, ...(marker !== undefined ? { Marker: marker } : {}) },
        who.caller,
      );
      for (const rotation of page.Rotations ?? []) {
        versions.push({ id: rotation.KeyMaterialId!, creationDate: iso((rotation.RotationDate ?? created) * 1000) });
      }
      if (!page.Truncated) break;
      marker = page.NextMarker;
    }
    return versions.reverse();
  }

  /**
   * A root key's KP state, current version, whether its material is imported and when it last
   * rotated (ms, 0 if never), for notifications, registrations and policies: read without a
   * caller, after one was authorized; undefined for a key that is not a root key.
   */
  async rootKeyState(id: string): Promise<{ state: KpState; version: string; imported: boolean; lastRotation: number } | undefined> {
    const stored = await this.service.ctx.store.get(keyPath(id));
    if (stored === undefined) return undefined;
    const key = JSON.parse(stored) as KeyRecord;
    const meta = keyMetadata(this.service.ctx, key);
    if (!isRootKey(meta)) return undefined;
    const lastRotation = Math.max(0, ...key.materials.map((m) => m.rotation?.date ?? 0));
    return { state: kpState(meta.KeyState), version: meta.CurrentKeyMaterialId ?? '', imported: meta.Origin === 'EXTERNAL', lastRotation };
  }

  /** Whether `id` is a root key of the instance a registration may name; KpError otherwise. */
  async requireRoot(id: string, action: string): Promise<KpKeyRecord | undefined> {
    const record = await this.record(id);
    if (record?.standard) throw new KpError('KEY_ROOT_REQ_ERR', action);
    return record;
  }

  /** The Key Protect record of a key (absent for a root key never touched here); 404 for a purged or malformed ID. */
  async record(id: string): Promise<KpKeyRecord | undefined> {
    if (!KEY_ID.test(id)) throw new KpError('NOT_FOUND_ERR', 'Key could not be found');
    const stored = await this.service.ctx.store.get(kpKeyPath(id));
    const record = stored === undefined ? undefined : (JSON.parse(stored) as KpKeyRecord);
    if (record?.purged) throw new KpError('NOT_FOUND_ERR', 'Key could not be found');
    return record;
  }

  async update(id: string, change: (record: KpKeyRecord) => KpKeyRecord): Promise<KpKeyRecord> {
    return this.service.ctx.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(kpKeyPath(id));
      const record = stored === undefined ? defaultKpRecord(id) : (JSON.parse(stored) as KpKeyRecord);
      const changed = change(record);
      tx.put(kpKeyPath(id), JSON.stringify(changed));
      return changed;
    });
  }

  async describe(caller: Caller, id: string): Promise<KeyMetadata> {
    const { KeyMetadata: meta } = await this.kms(() => this.service.call('DescribeKey', { KeyId: id }, caller), 'Key could not be retrieved');
    if (!isRootKey(meta!)) throw new KpError('NOT_FOUND_ERR', 'Key could not be found');
    return meta!;
  }

  private async rootKeyIfVisible(id: string): Promise<KpKey | undefined> {
    const stored = await this.service.ctx.store.get(keyPath(id));
    if (stored === undefined) return undefined;
    const meta = keyMetadata(this.service.ctx, JSON.parse(stored) as KeyRecord);
    if (!isRootKey(meta)) return undefined;
    const record = (await this.service.ctx.store.get(kpKeyPath(id))) ?? undefined;
    const kp = record === undefined ? undefined : (JSON.parse(record) as KpKeyRecord);
    if (kp?.purged) return undefined;
    return this.rootView(meta, kp);
  }

  private async currentVersion(id: string): Promise<string> {
    return (await this.rootKeyState(id))?.version ?? '';
  }

  /** Imports `payload` as the key's material, or (`rotation`) as the new material RotateKeyOnDemand then makes current. */
  private async importMaterial(caller: Caller, id: string, payload: Buffer, rotation = false): Promise<void> {
    const params = await this.service.call(
      'GetParametersForImport',
      { KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' },
      caller,
    );
    const encrypted = publicEncrypt(
      { key: createPublicKey({ key: params.PublicKey!, format: 'der', type: 'spki' }), oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING },
      payload,
    );
    await this.service.call(
      'ImportKeyMaterial',
      {
        KeyId: id,
        ImportToken: params.ImportToken!,
        EncryptedKeyMaterial: encrypted,
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        ...(rotation ? { ImportType: 'NEW_KEY_MATERIAL' as const } : {}),
      },
      caller,
    );
  }

  /** Runs a KMS call, telling its refusals in Key Protect's codes. */
  private kms<T>(call: () => Promise<T>, action: string): Promise<T> {
    return inKpTerms(call, action);
  }

  rootView(meta: KeyMetadata, record: KpKeyRecord | undefined): KpKey {
    const { region, account } = this.service.ctx;
    const state = kpState(meta.KeyState);
    const created = (meta.CreationDate ?? 0) * 1000;
    const lastUpdate = Math.max(created, record?.lastActionAt ?? 0);
    const deletedAt = record?.deletedAt;
    return {
      type: KEY_TYPE,
      id: meta.KeyId,
      name: record?.name ?? meta.KeyId,
      ...(record?.description !== undefined || meta.Description ? { description: record?.description ?? meta.Description } : {}),
      state,
      crn: keyCrn(region, account, this.instanceId, meta.KeyId),
      extractable: false,
      imported: meta.Origin === 'EXTERNAL',
      keyRingID: record?.keyRingID ?? 'default',
      ...(record?.aliases?.length ? { aliases: record.aliases } : {}),
      algorithmType: 'AES',
      algorithmMetadata: { bitLength: '256', mode: 'GCM' },
      createdBy: record?.createdBy ?? 'aws',
      creationDate: iso(created),
      lastUpdateDate: iso(lastUpdate),
      ...(meta.CurrentKeyMaterialId !== undefined ? { keyVersion: { id: meta.CurrentKeyMaterialId, creationDate: iso(created) } } : {}),
      dualAuthDelete: dualAuthView(record, this.service.ctx.now()),
      deleted: state === KP_STATE.destroyed,
      ...(state === KP_STATE.destroyed
        ? {
            deletionDate: iso(deletedAt ?? lastUpdate),
            ...(record?.deletedBy !== undefined ? { deletedBy: record.deletedBy } : {}),
            purgeAllowed: deletedAt !== undefined && this.service.ctx.now() >= deletedAt + PURGE_AFTER_MS,
            ...(deletedAt !== undefined ? { purgeAllowedFrom: iso(deletedAt + PURGE_AFTER_MS), purgeScheduledOn: iso(deletedAt + 90 * DAY_MS) } : {}),
            ...(meta.DeletionDate !== undefined ? { restoreExpirationDate: iso(meta.DeletionDate * 1000) } : {}),
          }
        : {}),
    };
  }

  private async standardPayload(record: KpKeyRecord): Promise<string> {
    return (await this.service.ctx.unit.unwrap(Buffer.from(record.standard!.wrappedPayload, 'base64'), payloadAad(record.id))).toString('base64');
  }

  private standardView(record: KpKeyRecord, withPayload: true): Promise<KpKey>;
  private standardView(record: KpKeyRecord, withPayload: false): KpKey;
  private standardView(record: KpKeyRecord, withPayload: boolean): KpKey | Promise<KpKey> {
    const { region, account } = this.service.ctx;
    const standard = record.standard!;
    const view: KpKey = {
      type: KEY_TYPE,
      id: record.id,
      name: record.name,
      ...(record.description !== undefined ? { description: record.description } : {}),
      state: standard.state,
      crn: keyCrn(region, account, this.instanceId, record.id),
      extractable: true,
      imported: record.imported,
      keyRingID: record.keyRingID,
      algorithmType: 'AES',
      createdBy: record.createdBy,
      creationDate: iso(standard.creationDate),
      lastUpdateDate: iso(standard.lastUpdateDate),
      deleted: standard.state === KP_STATE.destroyed,
      ...(record.deletedAt !== undefined ? { deletionDate: iso(record.deletedAt), deletedBy: record.deletedBy } : {}),
    };
    if (!withPayload || standard.state === KP_STATE.destroyed) return withPayload ? Promise.resolve(view) : view;
    return this.standardPayload(record).then((payload) => ({ ...view, payload }));
  }
}

export const isRootKey = (meta: KeyMetadata): boolean => meta.KeySpec === 'SYMMETRIC_DEFAULT' && meta.KeyUsage === 'ENCRYPT_DECRYPT';

/** The Key Protect state of a KMS key state: the same key reads consistently through both surfaces. */
export function kpState(state: KeyMetadata['KeyState']): KpState {
  switch (state) {
    case 'Disabled':
    case 'Unavailable':
      return KP_STATE.suspended;
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      return KP_STATE.destroyed;
    case 'PendingImport':
      return KP_STATE.preActivation;
    default:
      return KP_STATE.active;
  }
}

/** A KMS refusal in Key Protect's words. */
export function kpErrorOf(error: unknown, action: string): unknown {
  if (!(error instanceof KmsError) || error instanceof KpError) return error;
  switch (error.code) {
    case 'NotFoundException':
      return new KpError('NOT_FOUND_ERR', action);
    case 'DisabledException':
    case 'KMSInvalidStateException':
      if (error.message.includes('PROTECTED_RESOURCE_ERR')) return new KpError('PROTECTED_RESOURCE_ERR', action);
      if (error.message.includes('AUTHORIZATIONS_NOT_MET')) return new KpError('AUTHORIZATIONS_NOT_MET', action);
      return new KpError('KEY_ACTION_INVALID_STATE_ERR', action);
    case 'InvalidCiphertextException':
    case 'IncorrectKeyException':
      return new KpError('UNPROCESSABLE_CIPHERTEXT_ERR', action, 'ciphertext');
    case 'AccessDeniedException':
      return new KpError('UNAUTHORIZED_ERR', action);
    default:
      return error.status < 500 ? new KpError('BAD_BODY_ERR', action) : error;
  }
}

/** Runs a domain call (KMS operation or authorization), telling its refusals in Key Protect's codes. */
export async function inKpTerms<T>(call: () => Promise<T>, action: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw kpErrorOf(error, action);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

function text(value: unknown, member: string, max: number, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new KpError('BAD_BODY_ERR', 'The request could not be completed', member);
  return value;
}

function base64(value: unknown, member: string, maxBytes: number, required = false): Buffer {
  if (typeof value !== 'string' || (required && value.length === 0) || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new KpError('BAD_BODY_ERR', 'The request could not be completed', member);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.length > maxBytes) throw new KpError('BAD_BODY_ERR', 'The request could not be completed', member);
  return bytes;
}

/** Key Protect's additional authenticated data (a list of strings) as the KMS encryption context that binds it. */
function encryptionContext(aad: unknown): { EncryptionContext?: Record<string, string> } {
  if (aad === undefined) return {};
  if (!Array.isArray(aad) || aad.length > MAX_AAD || !aad.every((v): v is string => typeof v === 'string' && v.length <= 255)) {
    throw new KpError('BAD_BODY_ERR', 'The request could not be completed', 'aad');
  }
  if (aad.length === 0) return {};
  return { EncryptionContext: Object.fromEntries(aad.map((value, i) => [`kp-aad-${i}`, value])) };
}
