import { BlockList, isIP } from 'node:net';
import type { KeyService } from '../kms/index.ts';
import { inKpTerms, type KpCaller } from './key-protect.ts';
import { parseRotation } from './key-policies.ts';
import { KpError } from './kp-error.ts';

export const INSTANCE_POLICY_NAMES = ['dualAuthDelete', 'rotation', 'allowedNetwork', 'allowedIP', 'keyCreateImportAccess', 'metrics'] as const;
export type InstancePolicyName = (typeof INSTANCE_POLICY_NAMES)[number];
const PATH = 'kp/instance-policies';
const MAX_ALLOWED_IP = 1000;
const ACTION = 'Instance policies could not be set';
/** keyCreateImportAccess attributes and their defaults when a PUT omits them. */
const ACCESS_DEFAULTS = { create_root_key: true, create_standard_key: true, import_root_key: true, import_standard_key: true, enforce_token: false };

interface StoredPolicy {
  enabled: boolean;
  attributes?: Record<string, unknown>;
  createdBy: string;
  creationDate: number;
  updatedBy: string;
  lastUpdated: number;
}
type Stored = Partial<Record<InstancePolicyName, StoredPolicy>>;

/** What creating a key asks of the keyCreateImportAccess policy. */
export interface KeyCreation {
  root: boolean;
  imported: boolean;
  /** Whether an imported payload came encrypted under an import token (encryptedNonce and iv). */
  withImportToken: boolean;
}

/**
 * The instance's policies (GET/PUT /api/v2/instance/policies), stored as one record: those
 * that mean something here are enforced (dualAuthDelete and rotation as defaults of new keys,
 * keyCreateImportAccess on key creation, allowedIP on every request of the instance);
 * allowedNetwork and metrics are kept and reported, Concord having one endpoint per region and
 * its own /metrics.
 */
export class InstancePolicies {
  /** The allowedIP policy as a matcher, rebuilt when the record changes (per process; nodes read the store). */
  private allowed: { source: string; list: BlockList | undefined } | undefined;

  constructor(private readonly service: KeyService) {}

  /** GET /instance/policies (identity policies: kms:GetKeyPolicy): every policy set, or the one named. */
  async list(who: KpCaller, name: InstancePolicyName | undefined): Promise<Record<string, unknown>[]> {
    await this.authorize(who, 'GetKeyPolicy', 'Instance policies could not be retrieved');
    const stored = await this.read();
    return INSTANCE_POLICY_NAMES.filter((n) => (name === undefined || n === name) && stored[n]).map((n) => view(n, stored[n]!));
  }

  /** PUT /instance/policies (identity policies: kms:PutKeyPolicy): with `?policy=` exactly that one, without it each named once. */
  async put(who: KpCaller, name: InstancePolicyName | undefined, resources: unknown[]): Promise<void> {
    if (resources.length === 0 || resources.length > (name ? 1 : INSTANCE_POLICY_NAMES.length)) throw new KpError('NUM_COLLECTION_RESOURCE_ERR', ACTION);
    const changes = new Map<InstancePolicyName, { enabled: boolean; attributes?: Record<string, unknown> }>();
    for (const resource of resources) {
      if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) throw new KpError('BAD_BODY_ERR', ACTION);
      const { policy_type: type, policy_data: data } = resource as { policy_type?: unknown; policy_data?: unknown };
      if (!INSTANCE_POLICY_NAMES.includes(type as InstancePolicyName)) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_type');
      if (name !== undefined && type !== name) throw new KpError('BODY_QUERY_PARAM_MISMATCH_ERR', ACTION, 'policy_type');
      if (changes.has(type as InstancePolicyName)) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_type');
      changes.set(type as InstancePolicyName, parsePolicy(type as InstancePolicyName, data));
    }
    await this.authorize(who, 'PutKeyPolicy', ACTION);
    const now = this.service.ctx.now();
    await this.service.ctx.store.transaction(async (tx) => {
      const stored = await tx.getForUpdate(PATH);
      const policies = stored === undefined ? {} : (JSON.parse(stored) as Stored);
      for (const [type, change] of changes) {
        const before = policies[type];
        policies[type] = {
          ...change,
          createdBy: before?.createdBy ?? who.iamId,
          creationDate: before?.creationDate ?? now,
          updatedBy: who.iamId,
          lastUpdated: now,
        };
      }
      tx.put(PATH, JSON.stringify(policies));
    });
  }

  /** GET /instance/allowed_ip_port: the port to reach an instance with an allowed IP policy on (this endpoint's), nothing without one. */
  async allowedIpPort(who: KpCaller, port: number): Promise<Record<string, unknown>[]> {
    await this.authorize(who, 'GetKeyPolicy', 'Allowed IP port could not be retrieved');
    return (await this.read()).allowedIP?.enabled ? [{ private_endpoint_port: port }] : [];
  }

  /** The defaults a new key takes: dual authorization and a rotation interval. */
  async keyDefaults(): Promise<{ dualAuthDelete?: { enabled: boolean }; rotation?: { intervalMonth: number; enabled: boolean } }> {
    const { dualAuthDelete, rotation } = await this.read();
    return {
      ...(dualAuthDelete?.enabled ? { dualAuthDelete: { enabled: true } } : {}),
      ...(rotation?.enabled ? { rotation: { intervalMonth: rotation.attributes!.interval_month as number, enabled: true } } : {}),
    };
  }

  /** Refuses (KEY_CREATE_IMPORT_ACCESS_ERR) a key creation the keyCreateImportAccess policy does not allow. */
  async requireCreationAllowed(creation: KeyCreation): Promise<void> {
    const policy = (await this.read()).keyCreateImportAccess;
    if (!policy?.enabled) return;
    const access = { ...ACCESS_DEFAULTS, ...policy.attributes };
    const allowed = creation.imported
      ? (creation.root ? access.import_root_key : access.import_standard_key) && (!access.enforce_token || creation.withImportToken)
      : creation.root
        ? access.create_root_key
        : access.create_standard_key;
    if (!allowed) throw new KpError('KEY_CREATE_IMPORT_ACCESS_ERR', 'Key could not be created');
  }

  /** Refuses (UNAUTHORIZED_ERR) a request from an address the allowedIP policy does not list. */
  async requireAllowedIp(ip: string): Promise<void> {
    const stored = await this.service.ctx.store.get(PATH);
    if (stored === undefined) return;
    if (this.allowed?.source !== stored) {
      const policy = (JSON.parse(stored) as Stored).allowedIP;
      this.allowed = { source: stored, list: policy?.enabled ? blockList(policy.attributes!.allowed_ip as string[]) : undefined };
    }
    const list = this.allowed.list;
    if (!list) return;
    const address = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (!list.check(address, family)) throw new KpError('UNAUTHORIZED_ERR', 'The instance’s allowed IP policy does not allow this address');
  }

  private async read(): Promise<Stored> {
    const stored = await this.service.ctx.store.get(PATH);
    return stored === undefined ? {} : (JSON.parse(stored) as Stored);
  }

  private authorize(who: KpCaller, action: string, what: string): Promise<void> {
    return inKpTerms(() => this.service.authorizeIdentity(who.caller, action), what);
  }
}

function view(type: InstancePolicyName, policy: StoredPolicy): Record<string, unknown> {
  return {
    creationDate: new Date(policy.creationDate).toISOString(),
    createdBy: policy.createdBy,
    updatedBy: policy.updatedBy,
    lastUpdated: new Date(policy.lastUpdated).toISOString(),
    policy_type: type,
    policy_data: { enabled: policy.enabled, ...(policy.attributes ? { attributes: policy.attributes } : {}) },
  };
}

/** A policy's data as IBM's reference has it: attributes required when enabled (where the type has any), refused when disabled. */
function parsePolicy(type: InstancePolicyName, data: unknown): { enabled: boolean; attributes?: Record<string, unknown> } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data');
  const { enabled, attributes, ...rest } = data as { enabled?: unknown; attributes?: unknown };
  if (typeof enabled !== 'boolean' || Object.keys(rest).length > 0) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.enabled');
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))) {
    throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes');
  }
  const given = attributes as Record<string, unknown> | undefined;
  switch (type) {
    case 'dualAuthDelete':
    case 'metrics':
      if (given !== undefined) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes');
      return { enabled };
    case 'rotation': {
      if (!enabled) return noAttributes(enabled, given);
      const { intervalMonth } = parseRotation(only(given, ['interval_month']));
      return { enabled, attributes: { interval_month: intervalMonth } };
    }
    case 'allowedNetwork': {
      // IBM keeps the network on a disabled policy too, for legacy reasons.
      const network = only(given, ['allowed_network']).allowed_network;
      if (network !== 'public-and-private' && network !== 'private-only') throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes.allowed_network');
      return { enabled, attributes: { allowed_network: network } };
    }
    case 'allowedIP': {
      if (!enabled) return noAttributes(enabled, given);
      const ips = only(given, ['allowed_ip']).allowed_ip;
      if (!Array.isArray(ips) || ips.length === 0 || ips.length > MAX_ALLOWED_IP || !ips.every((ip) => typeof ip === 'string' && cidr(ip))) {
        throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes.allowed_ip');
      }
      return { enabled, attributes: { allowed_ip: ips as string[] } };
    }
    case 'keyCreateImportAccess': {
      if (!enabled) return noAttributes(enabled, given);
      const access = only(given ?? {}, Object.keys(ACCESS_DEFAULTS));
      if (!Object.values(access).every((v) => typeof v === 'boolean')) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes');
      return { enabled, attributes: { ...ACCESS_DEFAULTS, ...access } };
    }
  }
}

function noAttributes(enabled: boolean, given: Record<string, unknown> | undefined): { enabled: boolean } {
  if (given !== undefined) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes');
  return { enabled };
}

/** The attributes, which must be present and name nothing but `names`. */
function only(given: Record<string, unknown> | undefined, names: string[]): Record<string, unknown> {
  if (given === undefined || !Object.keys(given).every((k) => names.includes(k))) throw new KpError('BAD_BODY_ERR', ACTION, 'policy_data.attributes');
  return given;
}

/** An IPv4 or IPv6 subnet in CIDR notation. */
function cidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefix, ...more] = value.split('/');
  const version = isIP(address);
  if (version === 0 || prefix === undefined || more.length > 0 || !/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  if (bits > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix: bits, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockList(subnets: string[]): BlockList {
  const list = new BlockList();
  for (const subnet of subnets) {
    const parsed = cidr(subnet)!;
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}
