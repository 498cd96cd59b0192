import { sealImportEnvelope } from '../crypto/index.ts';
import { KeystoreUnreachableError, type CreatedKey, type KeyToCreate, type KeystoreAdapter, type ObservedKey } from './keystore-adapter.ts';

export interface IbmCloudKmsConnection {
  ibm_api_endpoint: string;
  ibm_iam_endpoint: string;
  ibm_api_key: string;
  ibm_instance_id: string;
  ibm_key_ring?: string | undefined;
}

/** How long one call to the keystore or its IAM may take before the keystore counts as unreachable. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A bearer token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 60_000;
/** The import token the adapter makes: Key Protect's longest life and most retrievals, so one token serves many imports. */
const IMPORT_TOKEN = { expiration: 86_400, maxAllowedRetrievals: 500 };
const KEY_TYPE = 'application/vnd.ibm.kms.key+json';

/** What the adapter reads of a Key Protect key. */
interface KpKey {
  id: string;
  state: number;
  aliases?: string[];
  keyVersion?: { id: string };
}

/** A Key Protect refusal: its status and reason code, never the request body. */
export class KeyProtectRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    what: string,
  ) {
    super(`Key Protect refused ${what}: ${status} ${code}`);
    this.name = 'KeyProtectRefusal';
  }
}

/** The alias that links a Key Protect key to the managed key version it copies. */
const linkAlias = (managedKeyId: string, version: number): string => `uko-${managedKeyId}-v${version}`;
/**
 * The alias that vouches for a key version holding the managed key's material: Key Protect
 * cannot show material, so a current version without it was made outside the orchestrator
 * (a rotation with other material) and the key reads `wrong_key`.
 */
const versionAlias = (versionId: string): string => `uko-${versionId}`;

/**
 * A keystore of type ibm_cloud_kms: a Key Protect instance (IBM's, or Concord's own surface of
 * any region), reached with an API key exchanged at the IAM endpoint. Each version of a managed
 * key is one root key there, its material imported with an import token: RSA-OAEP-SHA-256
 * under the token's public key, the nonce AES-GCM sealed under the material, so it never
 * crosses the wire in plaintext. key_id_in_keystore is the Key Protect key ID.
 */
export class IbmCloudKmsAdapter implements KeystoreAdapter {
  private token: { value: string; renewAt: number } | undefined;
  /** One import token creation at a time: a second would replace the first and spoil its nonces. */
  private importToken: Promise<void> | undefined;

  constructor(private readonly connection: IbmCloudKmsConnection) {}

  async check(): Promise<void> {
    await this.api('GET', '/keys?limit=1', 'the key list');
  }

  async describe(keyIdInKeystore: string): Promise<ObservedKey> {
    let key: KpKey;
    try {
      key = await this.key(keyIdInKeystore);
    } catch (error) {
      if (error instanceof KeyProtectRefusal && error.status === 404) return 'absent';
      throw error;
    }
    switch (key.state) {
      case 0:
        return 'pending_import';
      case 1:
        return key.keyVersion && (key.aliases ?? []).includes(versionAlias(key.keyVersion.id)) ? 'enabled' : 'wrong_key';
      case 5:
        return 'pending_deletion';
      default:
        return 'disabled';
    }
  }

  async create(key: KeyToCreate): Promise<CreatedKey> {
    const alias = linkAlias(key.managedKeyId, key.version);
    const linked = await this.key(alias).catch((error: unknown) => {
      if (error instanceof KeyProtectRefusal && error.status === 404) return undefined;
      throw error;
    });
    if (linked && linked.state !== 5) return { keyIdInKeystore: linked.id };
    // A deleted copy (one whose material was replaced, say) keeps its alias until a new key takes it.
    if (linked) await this.api('DELETE', `/keys/${linked.id}/aliases/${alias}`, 'the alias of a deleted copy');
    const created = await this.withSealed(key.material, 'key creation', async (sealed) => {
      const body = { type: KEY_TYPE, name: alias, description: (key.description || key.label).slice(0, 240), extractable: false, ...sealed };
      return this.api<{ resources: KpKey[] }>('POST', '/keys', 'key creation', {
        metadata: { collectionType: KEY_TYPE, collectionTotal: 1 },
        resources: [body],
      });
    });
    const id = created.resources[0]!.id;
    await this.api('POST', `/keys/${id}/aliases/${alias}`, 'the key alias');
    await this.vouch(id);
    return { keyIdInKeystore: id };
  }

  /** Key Protect keys never lose their material, so none waits for it; and a key takes no material it held before. */
  importMaterial(keyIdInKeystore: string): Promise<void> {
    return Promise.reject(new KeyProtectRefusal(409, 'KEY_ACTION_INVALID_STATE_ERR', `material for key ${keyIdInKeystore}, which Key Protect never lacks`));
  }

  async enable(keyIdInKeystore: string): Promise<void> {
    await this.api('POST', `/keys/${keyIdInKeystore}/actions/enable`, 'enabling the key');
  }

  async disable(keyIdInKeystore: string): Promise<void> {
    await this.api('POST', `/keys/${keyIdInKeystore}/actions/disable`, 'disabling the key');
  }

  /** Key Protect's deletion: the key is Destroyed and restorable for 30 days. */
  async scheduleDeletion(keyIdInKeystore: string): Promise<void> {
    await this.api('DELETE', `/keys/${keyIdInKeystore}`, 'deleting the key');
  }

  /** Key Protect restores a key Active; the adapter's contract leaves it disabled. */
  async cancelDeletion(keyIdInKeystore: string): Promise<void> {
    await this.api('POST', `/keys/${keyIdInKeystore}/restore`, 'restoring the key');
    await this.disable(keyIdInKeystore);
  }

  private key(idOrAlias: string): Promise<KpKey> {
    return this.api<{ resources: KpKey[] }>('GET', `/keys/${encodeURIComponent(idOrAlias)}/metadata`, 'the key').then((answer) => answer.resources[0]!);
  }

  /** Records that the key's current version holds the managed key's material. */
  private async vouch(id: string): Promise<void> {
    const key = await this.key(id);
    await this.api('POST', `/keys/${id}/aliases/${versionAlias(key.keyVersion!.id)}`, 'the key version alias');
  }

  /**
   * Seals material for the instance's import token and sends it; an import token that is
   * missing, used up, expired or replaced by someone else is made anew once.
   */
  private async withSealed<T>(material: Buffer, what: string, send: (sealed: object) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const token = await this.api<{ payload: string; nonce: string }>('GET', '/import_token', 'the import token');
        return await send(sealImportEnvelope(material, token));
      } catch (error) {
        const stale = error instanceof KeyProtectRefusal && ['NOT_FOUND_ERR', 'IMPORT_TOKEN_EXPIRED_ERR', 'INCORRECT_NONCE_ERR'].includes(error.code);
        if (!stale || attempt > 0) throw error;
        await this.newImportToken(what);
      }
    }
  }

  private newImportToken(what: string): Promise<void> {
    this.importToken ??= this.api('POST', '/import_token', `an import token for ${what}`, IMPORT_TOKEN).then(
      () => {
        this.importToken = undefined;
      },
      (error: unknown) => {
        this.importToken = undefined;
        throw error;
      },
    );
    return this.importToken;
  }

  private async bearer(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    const response = await this.fetch(`${this.connection.ibm_iam_endpoint.replace(/\/+$/, '')}/identity/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.connection.ibm_api_key }),
    });
    if (response.status !== 200) throw new KeystoreUnreachableError(`the IAM endpoint of the Key Protect keystore refuses the API key: ${response.status}`);
    const { access_token: value, expires_in: expiresIn } = (await response.json()) as { access_token: string; expires_in: number };
    this.token = { value, renewAt: Date.now() + expiresIn * 1000 - TOKEN_MARGIN_MS };
    return value;
  }

  /** One Key Protect call: refusals as KeyProtectRefusal, a keystore that cannot be reached or refuses the credentials as KeystoreUnreachableError. */
  private async api<T = unknown>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    const response = await this.fetch(`${this.connection.ibm_api_endpoint.replace(/\/+$/, '')}/api/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.bearer()}`,
        'bluemix-instance': this.connection.ibm_instance_id,
        accept: 'application/json',
        ...(this.connection.ibm_key_ring ? { 'x-kms-key-ring': this.connection.ibm_key_ring } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    const code = reasonCode(text);
    if (response.status === 401 || response.status >= 500) {
      if (response.status === 401) this.token = undefined;
      throw new KeystoreUnreachableError(`the Key Protect keystore cannot be reached or refuses the credentials: ${response.status} ${code}`);
    }
    throw new KeyProtectRefusal(response.status, code, what);
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new KeystoreUnreachableError(`the Key Protect keystore cannot be reached: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The first reason code of Key Protect's error body. */
function reasonCode(text: string): string {
  try {
    const body = JSON.parse(text) as { resources?: { reasons?: { code?: unknown }[] }[] };
    const code = body.resources?.[0]?.reasons?.[0]?.code;
    return typeof code === 'string' ? code.slice(0, 64) : 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}
