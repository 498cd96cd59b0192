import { randomUUID } from 'node:crypto';
import { KmsError } from '../errors/index.ts';
import type { Caller, KeyEvent, KeyService } from '../kms/index.ts';
import { timeIndexPath, timeIndexTime, type Transaction } from '../store/index.ts';
import { inKpTerms, type KeyProtect, type KpCaller } from './key-protect.ts';
import { KpError } from './kp-error.ts';
import {
  defaultKpRecord,
  DELETION_AUTHORIZATION_MS,
  KP_STATE,
  kpKeyPath,
  policyCrn,
  type KpKeyRecord,
  type PolicyStamp,
  type StoredKeyPolicies,
} from './kp-records.ts';

export const POLICY_TYPE = 'application/vnd.ibm.kms.policy+json';
export const KEY_POLICY_NAMES = ['rotation', 'dualAuthDelete'] as const;
export type KeyPolicyName = (typeof KEY_POLICY_NAMES)[number];
/** The time index of keys whose rotation policy is due: `kp-rotation/<time>/<key ID>`. */
const ROTATION_INDEX = 'kp-rotation';
const DUE_BATCH = 500;
/** How long a Key Protect delete's approval lets the deletion it is about to schedule through. */
const APPROVAL_MS = 60_000;
const DAY_MS = 24 * 3600 * 1000;
/** Key Protect's month of `interval_month`, unless a setting shortens it. */
export const DEFAULT_ROTATION_MONTH_MS = 30 * DAY_MS;
/** Key Protect allows one rotation of a root key per hour. */
export const DEFAULT_MIN_ROTATION_INTERVAL_MS = 3600 * 1000;

export interface KeyPoliciesOptions {
  service: KeyService;
  keys: KeyProtect;
  /** The length of one `interval_month`. */
  rotationMonthMs: number;
  /** How long after a root key's last rotation Key Protect refuses another. */
  minRotationIntervalMs: number;
}

/** A policy as PUT /keys/{id}/policies carries it. */
interface PolicyChange {
  rotation?: { intervalMonth: number; enabled: boolean };
  dualAuthDelete?: { enabled: boolean };
}

/**
 * Key Protect's key policies over root keys, and what they enforce: automatic rotation every
 * `interval_month` (a time index read by a background job, rotating as KMS's automatic
 * rotation does, so registered resources are notified as for any rotation), dual
 * authorization of deletion (setKeyForDeletion by one principal, the delete by another within
 * 7 days, checked for both surfaces by the key event subscriber), and the one-rotation-per-hour
 * rule of Key Protect's rotate.
 */
export class KeyPolicies {
  constructor(private readonly options: KeyPoliciesOptions) {}

  /** GET /keys/{id}/policies (kms:GetKeyPolicy on the key): every policy set, or the one named. */
  async list(who: KpCaller, id: string, name: KeyPolicyName | undefined): Promise<Record<string, unknown>[]> {
    const action = 'Key policies could not be retrieved';
    await this.authorize(who.caller, id, 'GetKeyPolicy', action);
    return this.views(await this.options.keys.record(id), name);
  }

  /**
   * PUT /keys/{id}/policies: a rotation policy (kms:EnableKeyRotation on the key) and/or dual
   * authorization of deletion (kms:PutKeyPolicy), as `resources` of IBM's collection body;
   * with `?policy=` exactly that one. Answers the policies as set.
   */
  async put(who: KpCaller, id: string, name: KeyPolicyName | undefined, resources: unknown[]): Promise<Record<string, unknown>[]> {
    const action = 'Key policies could not be set';
    const change = parseChange(name, resources);
    if (change.rotation) await this.authorize(who.caller, id, 'EnableKeyRotation', action);
    if (change.dualAuthDelete) await this.authorize(who.caller, id, 'PutKeyPolicy', action);
    const state = (await this.options.keys.rootKeyState(id))!;
    // Concord cannot make imported material anew, so an imported key rotates only with a payload.
    if (change.rotation?.enabled && state.imported) throw new KpError('BAD_BODY_ERR', action, 'rotation');
    if (state.state === KP_STATE.destroyed) throw new KpError('KEY_DELETED_ERR', action);
    const now = this.options.service.ctx.now();
    const record = await this.change(id, (r, tx) => {
      const policies: StoredKeyPolicies = { ...r.policies };
      if (change.dualAuthDelete) {
        if (policies.dualAuthDelete?.enabled && !change.dualAuthDelete.enabled) throw new KpError('KEY_ACTION_INVALID_STATE_ERR', action, 'dualAuthDelete');
        policies.dualAuthDelete = { ...stamp(policies.dualAuthDelete, who, now), enabled: change.dualAuthDelete.enabled };
      }
      if (change.rotation) {
        const before = policies.rotation;
        if (before) tx.delete(timeIndexPath(ROTATION_INDEX, before.nextAt, id));
        if (change.rotation.enabled) {
          const nextAt = now + change.rotation.intervalMonth * this.options.rotationMonthMs;
          policies.rotation = { ...stamp(before, who, now), intervalMonth: change.rotation.intervalMonth, nextAt };
          tx.put(timeIndexPath(ROTATION_INDEX, nextAt, id), id);
        } else {
          delete policies.rotation;
        }
      }
      return { ...r, policies };
    });
    return this.views(record, name);
  }

  /** A new key takes the instance's policies: dual authorization and a rotation interval (KeyProtectService.createKey). */
  async adopt(who: KpCaller, id: string, change: PolicyChange): Promise<void> {
    const now = this.options.service.ctx.now();
    await this.change(id, (r, tx) => {
      const policies: StoredKeyPolicies = { ...r.policies };
      if (change.dualAuthDelete?.enabled) policies.dualAuthDelete = { ...stamp(undefined, who, now), enabled: true };
      if (change.rotation?.enabled) {
        const nextAt = now + change.rotation.intervalMonth * this.options.rotationMonthMs;
        policies.rotation = { ...stamp(undefined, who, now), intervalMonth: change.rotation.intervalMonth, nextAt };
        tx.put(timeIndexPath(ROTATION_INDEX, nextAt, id), id);
      }
      return { ...r, policies };
    });
  }

  /** POST /keys/{id}/actions/setKeyForDeletion: the first of two authorizations (kms:ScheduleKeyDeletion on the key). */
  async setForDeletion(who: KpCaller, id: string): Promise<void> {
    const action = 'Key could not be set for deletion';
    await this.authorize(who.caller, id, 'ScheduleKeyDeletion', action);
    await this.change(id, (r) => {
      if (!r.policies?.dualAuthDelete?.enabled) throw new KpError('NOT_DUAL_AUTH_ERR', action);
      return { ...r, deletionAuthorization: { by: principalOf(who.caller), at: this.options.service.ctx.now() } };
    });
  }

  /** POST /keys/{id}/actions/unsetKeyForDeletion: withdraws the authorization (kms:CancelKeyDeletion on the key). */
  async unsetForDeletion(who: KpCaller, id: string): Promise<void> {
    const action = 'Key could not be unset for deletion';
    await this.authorize(who.caller, id, 'CancelKeyDeletion', action);
    await this.change(id, (r) => {
      if (!r.policies?.dualAuthDelete?.enabled) throw new KpError('NOT_DUAL_AUTH_ERR', action);
      const { deletionAuthorization: _, ...rest } = r;
      return rest;
    });
  }

  /**
   * Before a Key Protect delete of a dual-auth key: an unexpired authorization by another
   * principal (AUTHORIZATIONS_NOT_MET otherwise), recorded as an approval the key event
   * subscriber lets the deletion through with. Answers whether the key is dual-auth.
   */
  async approveDeletion(who: KpCaller, id: string): Promise<boolean> {
    const action = 'Key could not be deleted';
    const record = await this.options.keys.record(id);
    if (!record?.policies?.dualAuthDelete?.enabled) return false;
    await this.authorize(who.caller, id, 'ScheduleKeyDeletion', action);
    await this.change(id, (r) => {
      const authorization = r.deletionAuthorization;
      const now = this.options.service.ctx.now();
      if (authorization === undefined || now >= authorization.at + DELETION_AUTHORIZATION_MS || authorization.by === principalOf(who.caller)) {
        throw new KpError('AUTHORIZATIONS_NOT_MET', `1 prior authorization(s) by another user are required for deletion: ${action}`);
      }
      return { ...r, deletionApproved: now };
    });
    return true;
  }

  /** After a dual-auth delete: the approval is spent, and so is the authorization once the key is deleted. */
  async settleDeletion(id: string, deleted: boolean): Promise<void> {
    await this.change(id, (r) => {
      const { deletionApproved: _, deletionAuthorization, ...rest } = r;
      return deleted ? rest : { ...rest, ...(deletionAuthorization ? { deletionAuthorization } : {}) };
    });
  }

  /** The key event subscriber's part: a dual-auth key's deletion is scheduled only with a Key Protect delete's approval, whichever surface asks. */
  async onKeyEvent(tx: Transaction, event: KeyEvent): Promise<void> {
    if (event.kind !== 'deletion-scheduled') return;
    const stored = await tx.get(kpKeyPath(event.keyId));
    const record = stored === undefined ? undefined : (JSON.parse(stored) as KpKeyRecord);
    if (!record?.policies?.dualAuthDelete?.enabled) return;
    const approved = record.deletionApproved;
    if (approved !== undefined && this.options.service.ctx.now() - approved < APPROVAL_MS) return;
    throw new KmsError(
      'KMSInvalidStateException',
      `Key ${event.keyId} has a dual authorization policy: it is deleted through the Key Protect API once two users have authorized it (AUTHORIZATIONS_NOT_MET).`,
    );
  }

  /** Key Protect's rotate (kms:RotateKeyOnDemand on the key, checked first): refused within the minimum interval of the key's last rotation. */
  async requireRotationAllowed(who: KpCaller, id: string): Promise<void> {
    await this.authorize(who.caller, id, 'RotateKeyOnDemand', 'Key could not be rotated');
    const state = await this.options.keys.rootKeyState(id);
    if (state && this.options.service.ctx.now() - state.lastRotation < this.options.minRotationIntervalMs) {
      throw new KpError('KEY_ROTATION_NOT_PERMITTED', 'Action could not be performed on key');
    }
  }

  /** Background work: rotates the root keys whose rotation policy is due, and schedules their next rotation. */
  async rotateDueKeys(): Promise<number> {
    const { service, rotationMonthMs } = this.options;
    let rotated = 0;
    let failure: { error: unknown } | undefined;
    for (const entry of await service.ctx.store.list(`${ROTATION_INDEX}/`, { limit: DUE_BATCH })) {
      const due = timeIndexTime(entry.key);
      if (due > service.ctx.now()) break;
      const id = entry.value;
      const stored = await service.ctx.store.get(kpKeyPath(id));
      const policy = stored === undefined ? undefined : (JSON.parse(stored) as KpKeyRecord).policies?.rotation;
      try {
        if (policy?.nextAt === due && (await service.rotateKeyNow(id))) rotated += 1;
      } catch (error) {
        // One key that cannot rotate now must not hold up the others; its schedule moves on.
        failure ??= { error };
      }
      await service.ctx.store.transaction(async (tx) => {
        tx.delete(entry.key);
        const current = await tx.getForUpdate(kpKeyPath(id));
        const record = current === undefined ? undefined : (JSON.parse(current) as KpKeyRecord);
        const rotation = record?.policies?.rotation;
        if (!record || rotation?.nextAt !== due) return;
        const nextAt = service.ctx.now() + rotation.intervalMonth * rotationMonthMs;
        tx.put(kpKeyPath(id), JSON.stringify({ ...record, policies: { ...record.policies, rotation: { ...rotation, nextAt } } }));
        tx.put(timeIndexPath(ROTATION_INDEX, nextAt, id), id);
      });
    }
    if (failure) throw failure.error;
    return rotated;
  }

  /** A root key of the instance the caller may perform `kms:<action>` on; Key Protect's codes otherwise. */
  private async authorize(caller: Caller, id: string, kmsAction: string, action: string): Promise<void> {
    await this.options.keys.requireRoot(id, action);
    await inKpTerms(() => this.options.service.authorizeKey(caller, kmsAction, id), action);
    if (!(await this.options.keys.rootKeyState(id))) throw new KpError('NOT_FOUND_ERR', action);
  }

  /** Read-modify-write of a key's Key Protect record with its index entries, in one transaction. */
  private change(id: string, change: (record: KpKeyRecord, tx: Transaction) => KpKeyRecord): Promise<KpKeyRecord> {
    return this.options.service.ctx.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(kpKeyPath(id));
      const changed = change(stored === undefined ? defaultKpRecord(id) : (JSON.parse(stored) as KpKeyRecord), tx);
      tx.put(kpKeyPath(id), JSON.stringify(changed));
      return changed;
    });
  }

  private views(record: KpKeyRecord | undefined, name: KeyPolicyName | undefined): Record<string, unknown>[] {
    const { region, account } = this.options.service.ctx;
    const instanceId = this.options.keys.instanceId;
    const policies = record?.policies ?? {};
    const common = (p: PolicyStamp) => ({
      id: p.id,
      crn: policyCrn(region, account, instanceId, p.id),
      creationDate: iso(p.creationDate),
      createdBy: p.createdBy,
      lastUpdateDate: iso(p.lastUpdateDate),
      updatedBy: p.updatedBy,
      type: POLICY_TYPE,
    });
    const views: Record<string, unknown>[] = [];
    if (policies.rotation && name !== 'dualAuthDelete')
      views.push({ ...common(policies.rotation), rotation: { interval_month: policies.rotation.intervalMonth } });
    if (policies.dualAuthDelete && name !== 'rotation')
      views.push({ ...common(policies.dualAuthDelete), dualAuthDelete: { enabled: policies.dualAuthDelete.enabled } });
    return views;
  }
}

/** Whose authorization it is: a role's sessions are one principal, so two sessions of a role are not two users. */
const principalOf = (caller: Caller): string => caller.roleArn ?? caller.arn;

const iso = (ms: number): string => new Date(ms).toISOString();

function stamp(before: PolicyStamp | undefined, who: KpCaller, now: number): PolicyStamp {
  return {
    id: before?.id ?? randomUUID(),
    createdBy: before?.createdBy ?? who.iamId,
    creationDate: before?.creationDate ?? now,
    updatedBy: who.iamId,
    lastUpdateDate: now,
  };
}

/** The policies of a PUT body: with `?policy=` exactly one resource of that policy, without it one or two naming each policy once. */
function parseChange(name: KeyPolicyName | undefined, resources: unknown[]): PolicyChange {
  const action = 'Key policies could not be set';
  if (resources.length === 0 || resources.length > (name ? 1 : KEY_POLICY_NAMES.length)) throw new KpError('NUM_COLLECTION_RESOURCE_ERR', action);
  const change: PolicyChange = {};
  for (const resource of resources) {
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) throw new KpError('BAD_BODY_ERR', action);
    const { rotation, dualAuthDelete } = resource as Record<string, unknown>;
    if (name && (rotation !== undefined) !== (name === 'rotation')) throw new KpError('BODY_QUERY_PARAM_MISMATCH_ERR', action);
    if (name && (dualAuthDelete !== undefined) !== (name === 'dualAuthDelete')) throw new KpError('BODY_QUERY_PARAM_MISMATCH_ERR', action);
    if (rotation === undefined && dualAuthDelete === undefined) throw new KpError('BAD_BODY_ERR', action);
    if (rotation !== undefined) {
      if (change.rotation) throw new KpError('BAD_BODY_ERR', action, 'rotation');
      change.rotation = parseRotation(rotation);
    }
    if (dualAuthDelete !== undefined) {
      if (change.dualAuthDelete) throw new KpError('BAD_BODY_ERR', action, 'dualAuthDelete');
      const { enabled } = (dualAuthDelete ?? {}) as { enabled?: unknown };
      if (typeof enabled !== 'boolean') throw new KpError('BAD_BODY_ERR', action, 'dualAuthDelete.enabled');
      change.dualAuthDelete = { enabled };
    }
  }
  return change;
}

/** `{interval_month: 1..12}`, with the `enabled: false` of Key Protect's later API to remove it. */
export function parseRotation(value: unknown): { intervalMonth: number; enabled: boolean } {
  const action = 'Key policies could not be set';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KpError('BAD_BODY_ERR', action, 'rotation');
  const { interval_month: interval, enabled = true } = value as { interval_month?: unknown; enabled?: unknown };
  if (typeof enabled !== 'boolean') throw new KpError('BAD_BODY_ERR', action, 'rotation.enabled');
  if (!enabled && interval === undefined) return { intervalMonth: 0, enabled };
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > 12) {
    throw new KpError('BAD_BODY_ERR', action, 'rotation.interval_month');
  }
  return { intervalMonth: interval, enabled };
}
