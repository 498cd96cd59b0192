import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Sealed } from '../crypto/index.ts';
import { IV_LENGTH, TAG_LENGTH } from '../crypto/index.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { UnitVault } from './unit-vault.ts';
import { PATTERN_LENGTH } from './wrapped-key.ts';

type Pkcs11Module = typeof import('pkcs11js');
type PKCS11 = InstanceType<Pkcs11Module['PKCS11']>;
type Handle = Buffer;

/** The native binding, loaded with the first PKCS#11 unit so that regions without one never need it. */
let p11: Pkcs11Module;

export interface Pkcs11Options {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  tokenLabel: string;
  pin: string;
  unitId: string;
}

/** DER of the P-256 curve OID, as CKA_EC_PARAMS wants it. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const PATTERN_IV = Buffer.alloc(IV_LENGTH);
const PATTERN_AAD = Buffer.from('concord master key verification pattern');

/** One loaded library per path, initialised once and finalised when its last vault closes. */
const libraries = new Map<string, { lib: PKCS11; users: number }>();

function library(path: string): PKCS11 {
  let entry = libraries.get(path);
  if (!entry) {
    p11 ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
    const lib = new p11.PKCS11();
    lib.load(path);
    lib.C_Initialize();
    entry = { lib, users: 0 };
    libraries.set(path, entry);
  }
  entry.users++;
  return entry.lib;
}

function release(path: string): void {
  const entry = libraries.get(path);
  if (!entry || --entry.users > 0) return;
  libraries.delete(path);
  entry.lib.C_Finalize();
  entry.lib.close();
}

/**
 * A crypto unit in a PKCS#11 token. Every secret is a token object the unit cannot read
 * back: master key values are sensitive AES-256 keys that leave the token only through
 * C_WrapKey under a key agreed with another unit; the transport key is a non-extractable
 * P-256 key pair. Stored material is wrapped with AES-GCM inside the token (C_Encrypt).
 */
export class Pkcs11Vault implements UnitVault {
  readonly backend = 'pkcs11';
  private readonly objects = new Map<string, Handle>();

  private constructor(
    private readonly lib: PKCS11,
    private readonly session: Handle,
    private readonly options: Pkcs11Options,
  ) {}

  static open(options: Pkcs11Options): Pkcs11Vault {
    const lib = library(options.module);
    try {
      const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === options.tokenLabel);
      if (!slot) throw new Error(`no PKCS#11 token labelled '${options.tokenLabel}' in ${options.module}`);
      const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
      try {
        lib.C_Login(session, p11.CKU_USER, options.pin);
      } catch (error) {
        if ((error as { code?: number }).code !== p11.CKR_USER_ALREADY_LOGGED_IN) throw error;
      }
      return new Pkcs11Vault(lib, session, options);
    } catch (error) {
      release(options.module);
      throw error;
    }
  }

  async loadState(): Promise<string | undefined> {
    const latest = this.stateObjects().at(-1);
    return latest && this.lib.C_GetAttributeValue(this.session, latest.object, [{ type: p11.CKA_VALUE }])[0]!.value.toString('utf8');
  }

  /** Object handles found before may name objects another node of the region has destroyed since. */
  async reload(): Promise<void> {
    this.objects.clear();
  }

  /**
   * Data objects cannot be changed in place, so each state is a new object numbered one
   * higher (CKA_ID) and then the older ones go: a crash in between leaves the newest to load.
   */
  async saveState(state: string): Promise<void> {
    const existing = this.stateObjects();
    const serial = Buffer.alloc(8);
    serial.writeBigUInt64BE((existing.at(-1)?.serial ?? 0n) + 1n);
    this.lib.C_CreateObject(this.session, [
      { type: p11.CKA_CLASS, value: p11.CKO_DATA },
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_PRIVATE, value: true },
      { type: p11.CKA_APPLICATION, value: 'concord' },
      { type: p11.CKA_LABEL, value: this.label('state') },
      { type: p11.CKA_OBJECT_ID, value: serial },
      { type: p11.CKA_VALUE, value: Buffer.from(state) },
    ]);
    for (const { object } of existing) this.lib.C_DestroyObject(this.session, object);
  }

  async generateKey(): Promise<{ handle: string; pattern: Buffer }> {
    const handle = randomBytes(8).toString('hex');
    const key = this.lib.C_GenerateKey(this.session, { mechanism: p11.CKM_AES_KEY_GEN }, this.masterKeyTemplate(handle));
    this.objects.set(handle, key);
    return { handle, pattern: this.pattern(key) };
  }

  async destroyKey(handle: string): Promise<void> {
    const key = this.findKey(handle);
    if (key) this.lib.C_DestroyObject(this.session, key);
    this.objects.delete(handle);
  }

  async handles(): Promise<string[]> {
    return this.find([{ type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY }, { type: p11.CKA_LABEL, value: this.label('master-key') }]).map((key) =>
      this.lib.C_GetAttributeValue(this.session, key, [{ type: p11.CKA_ID }])[0]!.value.toString('hex'),
    );
  }

  encrypt(handle: string, plaintext: Buffer, aad: Buffer): Sealed {
    const iv = randomBytes(IV_LENGTH);
    const out = this.gcmEncrypt(this.key(handle), iv, plaintext, aad);
    return { iv, ciphertext: out.subarray(0, out.length - TAG_LENGTH), tag: out.subarray(out.length - TAG_LENGTH) };
  }

  decrypt(handle: string, sealed: Sealed, aad: Buffer): Buffer | undefined {
    this.lib.C_DecryptInit(this.session, this.gcm(sealed.iv, aad), this.key(handle));
    try {
      const input = Buffer.concat([sealed.ciphertext, sealed.tag]);
      return Buffer.from(this.lib.C_Decrypt(this.session, input, Buffer.alloc(input.length)));
    } catch {
      return undefined;
    }
  }

  async transportKey(): Promise<Buffer> {
    const [publicKey] = this.find([{ type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY }, { type: p11.CKA_LABEL, value: this.label('transport') }]);
    const point = publicKey
      ? this.lib.C_GetAttributeValue(this.session, publicKey, [{ type: p11.CKA_EC_POINT }])[0]!.value
      : this.generateTransportKey();
    // CKA_EC_POINT is the point wrapped in a DER OCTET STRING.
    return point.length === 67 && point[0] === 0x04 && point[1] === 65 ? point.subarray(2) : point;
  }

  async exportKey(handle: string, peerTransportKey: Buffer): Promise<Buffer> {
    const kek = this.agreedKey(peerTransportKey);
    try {
      return Buffer.from(this.lib.C_WrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, kek, this.key(handle), Buffer.alloc(64)));
    } finally {
      this.lib.C_DestroyObject(this.session, kek);
    }
  }

  async importKey(peerTransportKey: Buffer, wrapped: Buffer): Promise<string> {
    const kek = this.agreedKey(peerTransportKey);
    const handle = randomBytes(8).toString('hex');
    try {
      const template = this.masterKeyTemplate(handle).filter((a) => a.type !== p11.CKA_VALUE_LEN);
      this.objects.set(handle, this.lib.C_UnwrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, kek, wrapped, template));
      return handle;
    } catch {
      throw new CryptoUnitError('InvalidRequest', 'The wrapped master key was not made for this unit by that exporter.');
    } finally {
      this.lib.C_DestroyObject(this.session, kek);
    }
  }

  async zeroize(): Promise<void> {
    for (const name of ['master-key', 'transport', 'state']) {
      for (const object of this.find([{ type: p11.CKA_LABEL, value: this.label(name) }])) this.lib.C_DestroyObject(this.session, object);
    }
    this.objects.clear();
  }

  async close(): Promise<void> {
    this.lib.C_CloseSession(this.session);
    release(this.options.module);
  }

  /** The unit's state objects, oldest first. */
  private stateObjects(): { object: Handle; serial: bigint }[] {
    return this.find([{ type: p11.CKA_CLASS, value: p11.CKO_DATA }, { type: p11.CKA_LABEL, value: this.label('state') }])
      .map((object) => ({ object, serial: this.lib.C_GetAttributeValue(this.session, object, [{ type: p11.CKA_OBJECT_ID }])[0]!.value.readBigUInt64BE(0) }))
      .sort((a, b) => (a.serial < b.serial ? -1 : 1));
  }

  private label(name: string): string {
    return `concord/${this.options.unitId}/${name}`;
  }

  private masterKeyTemplate(handle: string) {
    return [
      { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
      { type: p11.CKA_VALUE_LEN, value: 32 },
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_PRIVATE, value: true },
      { type: p11.CKA_SENSITIVE, value: true },
      // Only so that C_WrapKey can hand it to another unit; its value is never readable.
      { type: p11.CKA_EXTRACTABLE, value: true },
      { type: p11.CKA_ENCRYPT, value: true },
      { type: p11.CKA_DECRYPT, value: true },
      { type: p11.CKA_LABEL, value: this.label('master-key') },
      { type: p11.CKA_ID, value: Buffer.from(handle, 'hex') },
    ];
  }

  private generateTransportKey(): Buffer {
    const label = this.label('transport');
    const { publicKey } = this.lib.C_GenerateKeyPair(
      this.session,
      { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
      [
        { type: p11.CKA_TOKEN, value: true },
        { type: p11.CKA_EC_PARAMS, value: P256_PARAMS },
        { type: p11.CKA_LABEL, value: label },
      ],
      [
        { type: p11.CKA_TOKEN, value: true },
        { type: p11.CKA_PRIVATE, value: true },
        { type: p11.CKA_SENSITIVE, value: true },
        { type: p11.CKA_EXTRACTABLE, value: false },
        { type: p11.CKA_DERIVE, value: true },
        { type: p11.CKA_LABEL, value: label },
      ],
    );
    return this.lib.C_GetAttributeValue(this.session, publicKey, [{ type: p11.CKA_EC_POINT }])[0]!.value;
  }

  /** A session key agreed by ECDH with the peer (raw x coordinate, CKD_NULL), for key wrap only. */
  private agreedKey(peerTransportKey: Buffer): Handle {
    const [privateKey] = this.find([{ type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY }, { type: p11.CKA_LABEL, value: this.label('transport') }]);
    if (!privateKey) throw new CryptoUnitError('InvalidState', 'The unit has no transport key.');
    try {
      const parameter: import('pkcs11js').ECDH1 = { type: p11.CK_PARAMS_EC_DH, kdf: p11.CKD_NULL, publicData: peerTransportKey };
      return this.lib.C_DeriveKey(
        this.session,
        { mechanism: p11.CKM_ECDH1_DERIVE, parameter },
        privateKey,
        [
          { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
          { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
          { type: p11.CKA_VALUE_LEN, value: 32 },
          { type: p11.CKA_TOKEN, value: false },
          { type: p11.CKA_SENSITIVE, value: true },
          { type: p11.CKA_EXTRACTABLE, value: false },
          { type: p11.CKA_WRAP, value: true },
          { type: p11.CKA_UNWRAP, value: true },
        ],
      );
    } catch {
      throw new CryptoUnitError('InvalidRequest', 'The peer transport key is not a P-256 public key.');
    }
  }

  /** GCM's tag over a fixed message with a fixed IV: names the value, computed inside the token. */
  private pattern(key: Handle): Buffer {
    const out = this.gcmEncrypt(key, PATTERN_IV, Buffer.alloc(16), PATTERN_AAD);
    return out.subarray(out.length - TAG_LENGTH, out.length - TAG_LENGTH + PATTERN_LENGTH);
  }

  private gcm(iv: Buffer, aad: Buffer) {
    return { mechanism: p11.CKM_AES_GCM, parameter: { type: p11.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_LENGTH * 8, tagBits: TAG_LENGTH * 8 } };
  }

  private gcmEncrypt(key: Handle, iv: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
    this.lib.C_EncryptInit(this.session, this.gcm(iv, aad), key);
    return Buffer.from(this.lib.C_Encrypt(this.session, plaintext, Buffer.alloc(plaintext.length + TAG_LENGTH)));
  }

  private key(handle: string): Handle {
    const key = this.objects.get(handle) ?? this.findKey(handle);
    if (!key) throw new CryptoUnitError('InvalidState', 'The register refers to a key the unit no longer holds; recover the master key.');
    this.objects.set(handle, key);
    return key;
  }

  private findKey(handle: string): Handle | undefined {
    return this.find([
      { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
      { type: p11.CKA_LABEL, value: this.label('master-key') },
      { type: p11.CKA_ID, value: Buffer.from(handle, 'hex') },
    ])[0];
  }

  private find(template: { type: number; value: number | string | Buffer | boolean }[]): Handle[] {
    this.lib.C_FindObjectsInit(this.session, template);
    try {
      return this.lib.C_FindObjects(this.session, 100);
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
  }
}
