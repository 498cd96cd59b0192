import { KmsError } from '../../errors/index.ts';
import type { Reader, Transaction } from '../../store/index.ts';
import { deepFreeze } from '../../util/index.ts';
import { aliasArn, keyArn, type RegionContext } from '../region-context.ts';
import { aliasPath, keyPath, type AliasRecord, type KeyRecord, type MaterialRecord } from './key-record.ts';

const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws:kms:([^:]+):([^:]+):key\/(.+)$/;
const ALIAS_ARN = /^arn:aws:kms:([^:]+):([^:]+):(alias\/.+)$/;
const MATERIAL_CACHE_LIMIT = 10_000;
const RECORD_CACHE_LIMIT = 10_000;

const isKeyId = (text: string): boolean => KEY_ID.test(text);

/**
 * Finds keys by any identifier AWS accepts and hands out their unwrapped material. Unwrapped
 * material is cached by its wrapped form and the unit's generation, so a changed wrapping
 * or master key register (a zeroized unit) is a new cache entry.
 */
export class KeyRepository {
  private readonly materialCache = new Map<string, Buffer>();
  private readonly recordCache = new Map<string, { raw: string; record: KeyRecord }>();

  /** `hsmMaterial` reads the material of keys in custom key stores, which the region does not hold. */
  constructor(
    private readonly ctx: RegionContext,
    private readonly hsmMaterial?: (key: KeyRecord) => Promise<Buffer | undefined>,
  ) {}

  /** Resolves a key ID, key ARN, alias name or alias ARN to a key ID in this region. */
  async resolveKeyId(identifier: string, { allowAlias }: { allowAlias: boolean }, reader: Reader = this.ctx.store): Promise<string> {
    const { region, account } = this.ctx;
    const keyArnMatch = KEY_ARN.exec(identifier);
    if (keyArnMatch) {
      const [, arnRegion, arnAccount, keyId] = keyArnMatch;
      if (arnRegion !== region || arnAccount !== account || !isKeyId(keyId!)) throw notFound(identifier);
      return keyId!;
    }
    const aliasArnMatch = ALIAS_ARN.exec(identifier);
    const aliasName = aliasArnMatch ? aliasArnMatch[3]! : identifier.startsWith('alias/') ? identifier : undefined;
    if (aliasName !== undefined) {
      if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId '${identifier}'`);
      if (aliasArnMatch && (aliasArnMatch[1] !== region || aliasArnMatch[2] !== account)) throw aliasNotFound(this.ctx, aliasName);
      const alias = await reader.get(aliasPath(aliasName));
      if (!alias) throw aliasNotFound(this.ctx, aliasName);
      return (JSON.parse(alias) as AliasRecord).targetKeyId;
    }
    if (!isKeyId(identifier)) throw new KmsError('NotFoundException', `Invalid keyId '${identifier}'`);
    return identifier;
  }

  async load(keyId: string, reader: Reader = this.ctx.store): Promise<KeyRecord> {
    return JSON.parse(await this.read(keyId, reader)) as KeyRecord;
  }

  async find(identifier: string, options: { allowAlias: boolean }, reader: Reader = this.ctx.store): Promise<KeyRecord> {
    return this.load(await this.resolveKeyId(identifier, options, reader), reader);
  }

  /** The key, or undefined when this region has none by that ID. */
  async get(keyId: string, reader: Reader = this.ctx.store): Promise<KeyRecord | undefined> {
    return parseKey(await reader.get(keyPath(keyId)));
  }

  /** Like get, holding the key's row until the transaction ends. */
  async getForUpdate(tx: Transaction, keyId: string): Promise<KeyRecord | undefined> {
    return parseKey(await tx.getForUpdate(keyPath(keyId)));
  }

  /**
   * Like load, for callers that only read the record. The store is read every time, so a
   * change made through any node is seen at once, but an unchanged record is parsed once:
   * the result is shared between requests and frozen.
   */
  async loadShared(keyId: string): Promise<KeyRecord> {
    const raw = await this.read(keyId, this.ctx.store);
    const cached = this.recordCache.get(keyId);
    if (cached?.raw === raw) return cached.record;
    const record = deepFreeze(JSON.parse(raw) as KeyRecord);
    if (this.recordCache.size >= RECORD_CACHE_LIMIT) this.recordCache.clear();
    this.recordCache.set(keyId, { raw, record });
    return record;
  }

  /** Like find, with loadShared's frozen record. */
  async findShared(identifier: string, options: { allowAlias: boolean }): Promise<KeyRecord> {
    return this.loadShared(await this.resolveKeyId(identifier, options));
  }

  private async read(keyId: string, reader: Reader): Promise<string> {
    const raw = await reader.get(keyPath(keyId));
    if (!raw) throw new KmsError('NotFoundException', `Key '${keyArn(this.ctx, keyId)}' does not exist`);
    return raw;
  }

  async material(key: KeyRecord, version: number): Promise<Buffer | undefined> {
    if (key.customKeyStore) return version === key.currentMaterial ? this.hsmMaterial?.(key) : undefined;
    const record = key.materials.find((m) => m.version === version);
    if (!record) return undefined;
    const cacheKey = `${this.ctx.unit.generation}|${record.wrapped}`;
    const cached = this.materialCache.get(cacheKey);
    if (cached) return cached;
    const plaintext = await this.ctx.unit.unwrap(Buffer.from(record.wrapped, 'base64'), materialAad(key.keyId, version));
    if (this.materialCache.size >= MATERIAL_CACHE_LIMIT) this.materialCache.clear();
    this.materialCache.set(cacheKey, plaintext);
    return plaintext;
  }

  async wrapMaterial(keyId: string, version: number, material: Buffer): Promise<MaterialRecord> {
    const wrapped = await this.ctx.unit.wrap(material, materialAad(keyId, version));
    return { version, wrapped: wrapped.toString('base64'), createdAt: this.ctx.now() };
  }
}

const parseKey = (raw: string | undefined): KeyRecord | undefined => (raw ? (JSON.parse(raw) as KeyRecord) : undefined);

/** Binds wrapped material to its key and version, so no record can borrow another's material. */
export const materialAad = (keyId: string, version: number): Buffer => Buffer.from(`concord key material|${keyId}|${version}`);

const notFound = (identifier: string): KmsError => new KmsError('NotFoundException', `Key '${identifier}' does not exist`);

const aliasNotFound = (ctx: RegionContext, aliasName: string): KmsError => new KmsError('NotFoundException', `Alias ${aliasArn(ctx, aliasName)} is not found.`);
