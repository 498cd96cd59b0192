import { randomBytes } from 'node:crypto';
import type { Sealed } from '../crypto/index.ts';
import { IV_LENGTH, TAG_LENGTH } from '../crypto/index.ts';
import { vanishedMasterKey } from './crypto-unit.ts';
import { bindingDigest, TRANSFER_IV, type TransferBinding } from './key-transfer.ts';
import { CryptoUnitError } from './unit-error.ts';
import type { UnitVault } from './unit-vault.ts';
import { acquirePkcs11Library, pkcs11js, releasePkcs11Library, type Pkcs11Library, type Pkcs11Module, type PKCS11 } from './pkcs11-library.ts';
import { PATTERN_LENGTH } from './wrapped-key.ts';

type Handle = Buffer;

/** The native binding, set when the first PKCS#11 unit opens. */
let p11: Pkcs11Module;

export interface Pkcs11Options {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: string;
  /** The token, by its label or by the ID of the slot holding it. */
  tokenLabel?: string;
  slot?: number;
  /** The user PIN, or the name of an environment variable holding it. */
  pin?: string;
  pinEnv?: string;
  /** The Security Officer PIN (or its variable): needed only by a unit that exports master keys. */
  soPin?: string;
  soPinEnv?: string;
  unitId: string;
}

/** DER of the P-256 curve OID, as CKA_EC_PARAMS wants it. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const PATTERN_IV = Buffer.alloc(IV_LENGTH);
const PATTERN_AAD = Buffer.from('concord master key verification pattern');

/** A PIN from the configuration, or from the environment variable it names. */
function pin(value: string | undefined, variable: string | undefined, what: string): string | undefined {
  if (value !== undefined || variable === undefined) return value;
  const fromEnv = process.env[variable];
  if (!fromEnv) throw new Error(`the environment variable ${variable}, which should hold the ${what}, is not set`);
  return fromEnv;
}

/** A slot handle is the CK_SLOT_ID in the platform's byte order, little-endian where Node runs. */
function slotId(slot: Buffer): bigint {
  return BigInt(`0x${Buffer.from(slot).reverse().toString('hex')}`);
}

/**
 * A crypto unit in a PKCS#11 token. Every secret is a token object the unit cannot read
 * back: master key values are sensitive AES-256 keys with CKA_WRAP_WITH_TRUSTED, so the
 * token lets them out only through C_WrapKey under a CKA_TRUSTED key, which only the
 * Security Officer can make (see trustedKey); the transport key is a non-extractable P-256
 * key pair. Stored material is wrapped with AES-GCM inside the token (C_Encrypt).
 */
export class Pkcs11Vault implements UnitVault {
  readonly backend = 'pkcs11';
  private readonly objects = new Map<string, Handle>();
  /** The library's logout count when `objects` was filled. */
  private objectsAt: number;

  private constructor(
    private readonly library: Pkcs11Library,
    private readonly session: Handle,
    private readonly options: Pkcs11Options,
    private readonly userPin: string,
    private readonly soPin: string | undefined,
  ) {
    this.objectsAt = library.logouts;
  }

  static open(options: Pkcs11Options): Pkcs11Vault {
    const userPin = pin(options.pin, options.pinEnv, `PIN of crypto unit ${options.unitId}`);
    const soPin = pin(options.soPin, options.soPinEnv, `Security Officer PIN of crypto unit ${options.unitId}`);
    if (userPin === undefined) throw new Error(`crypto unit ${options.unitId} has neither pin nor pinEnv`);
    p11 = pkcs11js();
    const entry = acquirePkcs11Library(options.module);
    const lib = entry.lib;
    try {
      const slot = lib
        .C_GetSlotList(true)
        .find((s) => (options.slot !== undefined ? slotId(s) === BigInt(options.slot) : lib.C_GetTokenInfo(s).label.trim() === options.tokenLabel));
      if (!slot) {
        const token = options.slot !== undefined ? `in slot ${options.slot}` : `labelled '${options.tokenLabel}'`;
        throw new Error(`no PKCS#11 token ${token} in ${options.module}`);
      }
      const vault = new Pkcs11Vault(entry, lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION), options, userPin, soPin);
      vault.login();
      return vault;
    } catch (error) {
      releasePkcs11Library(options.module);
      throw error;
    }
  }

  private get lib(): PKCS11 {
    return this.library.lib;
  }

  loadState(): Promise<string | undefined> {
    const latest = this.stateObjects().at(-1);
    return Promise.resolve(latest && this.lib.C_GetAttributeValue(this.session, latest.object, [{ type: p11.CKA_VALUE }])[0]!.value.toString('utf8'));
  }

  /** Object handles found before may name objects another node of the region has destroyed since. */
  reload(): Promise<void> {
    this.objects.clear();
    return Promise.resolve();
  }

  /**
   * Data objects cannot be changed in place, so each state is a new object numbered one
   * higher (CKA_ID) and then the older ones go: a crash in between leaves the newest to load.
   */
  saveState(state: string): Promise<void> {
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
    return Promise.resolve();
  }

  generateKey(): Promise<{ handle: string; pattern: Buffer }> {
    const handle = randomBytes(8).toString('hex');
    const key = this.lib.C_GenerateKey(this.session, { mechanism: p11.CKM_AES_KEY_GEN }, this.masterKeyTemplate(handle));
    this.objects.set(handle, key);
    return Promise.resolve({ handle, pattern: this.pattern(key) });
  }

  destroyKey(handle: string): Promise<void> {
    const key = this.findKey(handle);
    if (key) this.lib.C_DestroyObject(this.session, key);
    this.objects.delete(handle);
    return Promise.resolve();
  }

  handles(): Promise<string[]> {
    return Promise.resolve(
      this.find([
        { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
        { type: p11.CKA_LABEL, value: this.label('master-key') },
      ]).map((key) => this.lib.C_GetAttributeValue(this.session, key, [{ type: p11.CKA_ID }])[0]!.value.toString('hex')),
    );
  }

  encrypt(handle: string, plaintext: Buffer, aad: Buffer): Sealed {
    const iv = randomBytes(IV_LENGTH);
    const out = this.withKey(handle, (key) => this.gcmEncrypt(key, iv, plaintext, aad));
    return { iv, ciphertext: out.subarray(0, out.length - TAG_LENGTH), tag: out.subarray(out.length - TAG_LENGTH) };
  }

  decrypt(handle: string, sealed: Sealed, aad: Buffer): Buffer | undefined {
    this.withKey(handle, (key) => {
      this.lib.C_DecryptInit(this.session, this.gcm(sealed.iv, aad), key);
    });
    try {
      const input = Buffer.concat([sealed.ciphertext, sealed.tag]);
      return Buffer.from(this.lib.C_Decrypt(this.session, input, Buffer.alloc(input.length)));
    } catch {
      return undefined;
    }
  }

  transportKey(): Promise<Buffer> {
    const [publicKey] = this.find([
      { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
      { type: p11.CKA_LABEL, value: this.label('transport') },
    ]);
    const point = publicKey ? this.lib.C_GetAttributeValue(this.session, publicKey, [{ type: p11.CKA_EC_POINT }])[0]!.value : this.generateTransportKey();
    // CKA_EC_POINT is the point wrapped in a DER OCTET STRING.
    return Promise.resolve(point.length === 67 && point[0] === 0x04 && point[1] === 65 ? point.subarray(2) : point);
  }

  /** Runs in a promise's executor so that its refusals reject, as an async function's would. */
  exportKey(handle: string, peerTransportKey: Buffer, binding: TransferBinding): Promise<Buffer> {
    return new Promise((resolve) => {
      const kek = this.trustedKey(peerTransportKey, binding);
      try {
        resolve(
          this.withKey(handle, (key) => Buffer.from(this.lib.C_WrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, kek, key, Buffer.alloc(64)))),
        );
      } finally {
        this.lib.C_DestroyObject(this.session, kek);
      }
    });
  }

  /** Runs in a promise's executor so that its refusals reject, as an async function's would. */
  importKey(peerTransportKey: Buffer, wrapped: Buffer, binding: TransferBinding): Promise<string> {
    return new Promise((resolve) => {
      const kek = this.transferKey(peerTransportKey, binding, [
        { type: p11.CKA_PRIVATE, value: true },
        { type: p11.CKA_EXTRACTABLE, value: false },
        { type: p11.CKA_UNWRAP, value: true },
      ]);
      const handle = randomBytes(8).toString('hex');
      try {
        const template = this.masterKeyTemplate(handle).filter((a) => a.type !== p11.CKA_VALUE_LEN);
        this.objects.set(handle, this.lib.C_UnwrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, kek, wrapped, template));
        resolve(handle);
      } catch {
        throw new CryptoUnitError('InvalidRequest', 'The wrapped master key was not made for this unit by that exporter.');
      } finally {
        this.lib.C_DestroyObject(this.session, kek);
      }
    });
  }

  zeroize(): Promise<void> {
    for (const name of ['master-key', 'transport', 'state']) {
      for (const object of this.find([{ type: p11.CKA_LABEL, value: this.label(name) }])) this.lib.C_DestroyObject(this.session, object);
    }
    this.objects.clear();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.lib.C_CloseSession(this.session);
    releasePkcs11Library(this.options.module);
    return Promise.resolve();
  }

  /** The unit's state objects, oldest first. */
  private stateObjects(): { object: Handle; serial: bigint }[] {
    return this.find([
      { type: p11.CKA_CLASS, value: p11.CKO_DATA },
      { type: p11.CKA_LABEL, value: this.label('state') },
    ])
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
      // Extractable only so that C_WrapKey can hand it to another unit, and then only under a trusted key.
      { type: p11.CKA_EXTRACTABLE, value: true },
      { type: p11.CKA_WRAP_WITH_TRUSTED, value: true },
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

  private login(): void {
    try {
      this.lib.C_Login(this.session, p11.CKU_USER, this.userPin);
    } catch (error) {
      if ((error as { code?: number }).code !== p11.CKR_USER_ALREADY_LOGGED_IN) throw error;
    }
  }

  /**
   * The key agreed with the peer as a session object with CKA_TRUSTED, which only the Security
   * Officer can set, on a key made while the SO is logged in, who sees no private object. So
   * the agreed key is derived as a public session object, carried over wrapped under a
   * throwaway public session key, and unwrapped by the SO as trusted. The user's logout meanwhile
   * holds for every session of this process on the token; all of it runs synchronously, so no
   * other request of this process finds the token logged out.
   */
  private trustedKey(peerTransportKey: Buffer, binding: TransferBinding): Handle {
    if (this.soPin === undefined) {
      throw new CryptoUnitError('InvalidState', `Crypto unit ${this.options.unitId} cannot export a master key: its configuration has no soPin or soPinEnv.`);
    }
    const session = [
      { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
      { type: p11.CKA_TOKEN, value: false },
      { type: p11.CKA_PRIVATE, value: false },
      { type: p11.CKA_SENSITIVE, value: true },
    ];
    const carrier = this.lib.C_GenerateKey(this.session, { mechanism: p11.CKM_AES_KEY_GEN }, [
      ...session,
      { type: p11.CKA_VALUE_LEN, value: 32 },
      { type: p11.CKA_EXTRACTABLE, value: false },
      { type: p11.CKA_WRAP, value: true },
      { type: p11.CKA_UNWRAP, value: true },
    ]);
    try {
      const agreed = this.transferKey(peerTransportKey, binding, [
        { type: p11.CKA_PRIVATE, value: false },
        { type: p11.CKA_EXTRACTABLE, value: true },
      ]);
      const carried = Buffer.from(this.lib.C_WrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, carrier, agreed, Buffer.alloc(64)));
      this.lib.C_DestroyObject(this.session, agreed);
      this.lib.C_Logout(this.session);
      this.library.logouts++;
      try {
        this.lib.C_Login(this.session, p11.CKU_SO, this.soPin);
      } catch {
        throw new CryptoUnitError('InvalidState', `The token of crypto unit ${this.options.unitId} refused its Security Officer PIN.`);
      }
      try {
        return this.lib.C_UnwrapKey(this.session, { mechanism: p11.CKM_AES_KEY_WRAP_PAD }, carrier, carried, [
          ...session,
          { type: p11.CKA_EXTRACTABLE, value: false },
          { type: p11.CKA_TRUSTED, value: true },
          { type: p11.CKA_WRAP, value: true },
        ]);
      } finally {
        this.lib.C_Logout(this.session);
      }
    } finally {
      this.login();
      this.lib.C_DestroyObject(this.session, carrier);
    }
  }

  /**
   * The transfer key (key-transfer.ts) as a session key with the given usage and visibility,
   * derived inside the token: ECDH with the peer (CKD_NULL, the raw x coordinate) into a
   * throwaway key that can only derive, then CKM_AES_CBC_ENCRYPT_DATA over the binding digest.
   */
  private transferKey(peerTransportKey: Buffer, binding: TransferBinding, attributes: { type: number; value: boolean }[]): Handle {
    const [privateKey] = this.find([
      { type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY },
      { type: p11.CKA_LABEL, value: this.label('transport') },
    ]);
    if (!privateKey) throw new CryptoUnitError('InvalidState', 'The unit has no transport key.');
    const aesSessionKey = [
      { type: p11.CKA_CLASS, value: p11.CKO_SECRET_KEY },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_AES },
      { type: p11.CKA_VALUE_LEN, value: 32 },
      { type: p11.CKA_TOKEN, value: false },
      { type: p11.CKA_SENSITIVE, value: true },
    ];
    let secret: Handle;
    try {
      const parameter: import('pkcs11js').ECDH1 = { type: p11.CK_PARAMS_EC_DH, kdf: p11.CKD_NULL, publicData: peerTransportKey };
      secret = this.lib.C_DeriveKey(this.session, { mechanism: p11.CKM_ECDH1_DERIVE, parameter }, privateKey, [
        ...aesSessionKey,
        { type: p11.CKA_PRIVATE, value: true },
        { type: p11.CKA_EXTRACTABLE, value: false },
        { type: p11.CKA_DERIVE, value: true },
      ]);
    } catch {
      throw new CryptoUnitError('InvalidRequest', 'The peer transport key is not a P-256 public key.');
    }
    try {
      const parameter: import('pkcs11js').AesCBC = { type: p11.CK_PARAMS_AES_CBC, iv: TRANSFER_IV, data: bindingDigest(binding) };
      return this.lib.C_DeriveKey(this.session, { mechanism: p11.CKM_AES_CBC_ENCRYPT_DATA, parameter }, secret, [...aesSessionKey, ...attributes]);
    } finally {
      this.lib.C_DestroyObject(this.session, secret);
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

  /**
   * Runs `use` with the master key named `handle`. Another node of the region may have
   * destroyed the object behind a remembered handle: the token then answers
   * CKR_OBJECT_HANDLE_INVALID, and the key is looked up afresh once.
   */
  private withKey<T>(handle: string, use: (key: Handle) => T): T {
    if (this.objectsAt !== this.library.logouts) {
      this.objects.clear();
      this.objectsAt = this.library.logouts;
    }
    const remembered = this.objects.get(handle);
    if (remembered) {
      try {
        return use(remembered);
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code !== p11.CKR_OBJECT_HANDLE_INVALID && code !== p11.CKR_KEY_HANDLE_INVALID) throw error;
        this.objects.delete(handle);
      }
    }
    const key = this.findKey(handle);
    if (!key) throw vanishedMasterKey();
    this.objects.set(handle, key);
    return use(key);
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
