import type { KeyInKeystore, KeystoreRecord, ManagedKeyRecord, TemplateRecord, Uko, VaultRecord } from '../../uko/index.ts';

/** Everything a view needs that is not in the record: where the API is, and the names of what it refers to. */
export interface ViewContext {
  base: string;
  vaults: ReadonlyMap<string, VaultRecord>;
  keystores: ReadonlyMap<string, KeystoreRecord>;
  templates: ReadonlyMap<string, TemplateRecord>;
}

export async function viewContext(uko: Uko, base: string): Promise<ViewContext> {
  const [vaults, keystores, templates] = await Promise.all([uko.vaults.list(), uko.keystores.list(), uko.templates.list()]);
  const byId = <R extends { id: string }>(records: R[]) => new Map(records.map((r) => [r.id, r]));
  return { base, vaults: byId(vaults), keystores: byId(keystores), templates: byId(templates) };
}

const stamps = (r: { createdAt: string; updatedAt: string; createdBy: string; updatedBy: string }) => ({
  created_at: r.createdAt,
  updated_at: r.updatedAt,
  created_by: r.createdBy,
  updated_by: r.updatedBy,
});

const vaultRef = (ctx: ViewContext, id: string) => ({ id, name: ctx.vaults.get(id)?.name ?? '', href: `${ctx.base}/api/v4/vaults/${id}` });

export function vaultView(ctx: ViewContext, vault: VaultRecord, counts: { keys: number; templates: number; keystores: number }) {
  return {
    id: vault.id,
    name: vault.name,
    description: vault.description,
    ...stamps(vault),
    ...(vault.recoveryKeyLabel !== undefined ? { recovery_key_label: vault.recoveryKeyLabel } : {}),
    href: `${ctx.base}/api/v4/vaults/${vault.id}`,
    keys_count: counts.keys,
    key_templates_count: counts.templates,
    keystores_count: counts.keystores,
  };
}

/** A keystore as IBM shows it, with its plain connection fields; secrets are never shown. */
export function keystoreView(ctx: ViewContext, keystore: KeystoreRecord) {
  return {
    vault: vaultRef(ctx, keystore.vaultId),
    id: keystore.id,
    name: keystore.name,
    location: keystore.location,
    description: keystore.description,
    groups: keystore.groups,
    type: keystore.type,
    ...stamps(keystore),
    href: `${ctx.base}/api/v4/keystores/${keystore.id}`,
    ...(keystore.tlsProxy !== undefined ? { tls_proxy: keystore.tlsProxy } : {}),
    ...keystore.connection,
  };
}

export function templateView(ctx: ViewContext, template: TemplateRecord, keysCount: number) {
  return {
    vault: vaultRef(ctx, template.vaultId),
    id: template.id,
    version: template.revision,
    name: template.name,
    naming_scheme: template.namingScheme,
    type: ['user_defined'],
    state: template.state,
    keys_count: keysCount,
    key: {
      size: template.key.size,
      algorithm: template.key.algorithm,
      activation_date: template.key.activationDate,
      expiration_date: template.key.expirationDate,
      state: template.key.state,
      deactivate_on_rotation: template.key.deactivateOnRotation,
    },
    description: template.description,
    ...stamps(template),
    keystores: template.keystores.map(({ group, type }) => ({ group, type })),
    href: `${ctx.base}/api/v4/templates/${template.id}`,
  };
}

const keystoreRef = (ctx: ViewContext, id: string) => {
  const keystore = ctx.keystores.get(id);
  return { id, name: keystore?.name ?? '', type: keystore?.type ?? 'aws_kms', href: `${ctx.base}/api/v4/keystores/${id}` };
};

export function statusInKeystoreView(ctx: ViewContext, instance: KeyInKeystore, trace: string) {
  return {
    keystore: keystoreRef(ctx, instance.keystoreId),
    status: instance.status,
    keystore_sync_flag: instance.syncFlag,
    keystore_sync_flag_detail: instance.syncFlagDetail,
    ...(instance.error !== undefined
      ? {
          error: {
            status_code: instance.syncFlag === 'error' ? 503 : 409,
            trace,
            errors: [{ code: instance.syncFlag === 'error' ? 'connection_error' : 'keystore_operation_failed', message: instance.error }],
          },
        }
      : {}),
    ...(instance.keyIdInKeystore !== undefined ? { key_id_in_keystore: instance.keyIdInKeystore } : {}),
  };
}

/** A managed key as IBM shows it; `version` picks one version of its material (the versions list), by default the current one. */
export function managedKeyView(ctx: ViewContext, key: ManagedKeyRecord, trace: string, version = key.materials.length) {
  const template = ctx.templates.get(key.templateId);
  const material = key.materials[version - 1]!;
  return {
    id: key.id,
    vault: vaultRef(ctx, key.vaultId),
    template: { id: key.templateId, name: template?.name ?? '', type: ['user_defined'], href: `${ctx.base}/api/v4/templates/${key.templateId}` },
    version,
    description: key.description,
    label: key.label,
    state: key.state,
    size: key.size,
    algorithm: key.algorithm,
    verification_patterns: [{ method: 'enc-zero', value: material.pattern }],
    ...(key.activationDate !== undefined ? { activation_date: key.activationDate } : {}),
    ...(key.expirationDate !== undefined ? { expiration_date: key.expirationDate } : {}),
    label_tags: [],
    tags: [],
    ...stamps(key),
    referenced_keystores: key.instances.map((instance) => keystoreRef(ctx, instance.keystoreId)),
    instances: key.instances.map((instance) => ({
      id: instance.keyIdInKeystore ?? '',
      label_in_keystore: instance.labelInKeystore,
      type: 'key',
      keystore: { group: instance.group, type: keystoreRef(ctx, instance.keystoreId).type },
    })),
    href: `${ctx.base}/api/v4/managed_keys/${key.id}`,
    ...(key.rotatedAt !== undefined ? { rotated_at: key.rotatedAt } : {}),
    status_in_keystores: key.instances.map((instance) => statusInKeystoreView(ctx, instance, trace)),
    deactivate_on_rotation: key.deactivateOnRotation,
  };
}
