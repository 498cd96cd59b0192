import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { acquirePkcs11Library, pkcs11js, releasePkcs11Library, type Pkcs11Module } from '../cryptounits/index.ts';
import { KeystoreUnreachableError, type CreatedKey, type KeyToCreate, type KeystoreAdapter, type ObservedKey } from './keystore-adapter.ts';

export interface Pkcs11Connection {
  /** Path of the PKCS#11 library. */
  pkcs11_module: string;
  pkcs11_token_label: string;
  pkcs11_pin: string;
}

type Handle = Buffer;
type Attribute = { type: number; value: number | boolean | string | Buffer };

/** The OAEP label's source, which pkcs11js does not name: an empty label. */
const CKZ_DATA_SPECIFIED = 1;

/** The label of the token's RSA key pair that material is unwrapped with. */
export const WRAPPING_KEY_LABEL = 'concord-uko/wrapping-key';

/**
 * Token errors that mean the token, not the request, is the problem: it is gone, locked, refuses
 * the PIN, or its session broke. Anything else is the token refusing one operation.
 */
const UNREACHABLE = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_LOCKED',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_LEN_RANGE',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_MEMORY',
  'CKR_GENERAL_ERROR',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_COUNT',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
]);

const unreachable = (what: string, error: unknown) =>
  new KeystoreUnreachableError(`the PKCS#11 token cannot be used: ${what}${error instanceof Error ? ` (${error.message})` : ''}`, { cause: error });

/**
 * A keystore of type pkcs11 (a Concord extension): a token reached through its PKCS#11 library.
 * Each version of a managed key is one AES secret key object, sensitive and not extractable,
 * whose CKA_LABEL is its key_id_in_keystore, `uko/<managed key ID>/v<version>`. Material enters
 * the token only wrapped: under the token's own RSA key pair (made in the token on first use,
 * its private half never leaves it), with RSA-OAEP, and C_UnwrapKey. A key is enabled when
 * CKA_ENCRYPT and CKA_DECRYPT are both set, disabled when they are not. Its verification
 * pattern (IBM's enc-zero: a zero block encrypted under it) is computed inside the token, on a
 * session copy that may encrypt, so a disabled key is checked without being enabled. PKCS#11 has
 * no scheduled deletion: a key is destroyed at once.
 *
 * Each call opens its own session, logs in and closes it again (the library is loaded and
 * finalised with it when nothing else of the process uses it), all synchronously: a PIN changed
 * or a library moved is noticed by the next call, and calls never interleave.
 */
export class Pkcs11Adapter implements KeystoreAdapter {
  constructor(private readonly connection: Pkcs11Connection) {}

  check(): Promise<void> {
    return this.run(() => undefined);
  }

  describe(keyIdInKeystore: string, pattern?: string): Promise<ObservedKey> {
    return this.run((token) => {
      const key = token.key(keyIdInKeystore);
      if (!key) return 'absent';
      if (pattern !== undefined && token.pattern(key) !== pattern) return 'wrong_key';
      return token.enabled(key) ? 'enabled' : 'disabled';
    });
  }

  create(key: KeyToCreate): Promise<CreatedKey> {
    const keyId = `uko/${key.managedKeyId}/v${key.version}`;
    return this.run((token) => {
      if (!token.key(keyId)) token.unwrap(keyId, key.material);
      return { keyIdInKeystore: keyId };
    });
  }

  /** A token object never loses its material; a key that is gone is put back. */
  importMaterial(keyIdInKeystore: string, material: Buffer): Promise<void> {
    return this.run((token) => {
      if (!token.key(keyIdInKeystore)) token.unwrap(keyIdInKeystore, material);
    });
  }

  enable(keyIdInKeystore: string): Promise<void> {
    return this.run((token) => {
      token.setEnabled(token.existing(keyIdInKeystore), true);
    });
  }

  disable(keyIdInKeystore: string): Promise<void> {
    return this.run((token) => {
      token.setEnabled(token.existing(keyIdInKeystore), false);
    });
  }

  /** Destroys every object of the token labelled with the key's ID. */
  scheduleDeletion(keyIdInKeystore: string): Promise<void> {
    return this.run((token) => {
      token.destroy(keyIdInKeystore);
    });
  }

  cancelDeletion(): Promise<void> {
    return Promise.reject(new Error('A PKCS#11 token destroys a key at once: there is no scheduled deletion to cancel'));
  }

  /** One session on the token, logged in, for `work`; its errors reject. */
  private run<T>(work: (token: TokenSession) => T): Promise<T> {
    return new Promise((resolve) => {
      resolve(this.inSession(work));
    });
  }

  private inSession<T>(work: (token: TokenSession) => T): T {
    const { pkcs11_module: path, pkcs11_token_label: label } = this.connection;
    let p11: Pkcs11Module;
    let library;
    try {
      p11 = pkcs11js();
      library = acquirePkcs11Library(path);
    } catch (error) {
      throw unreachable(`the library ${path} cannot be loaded`, error);
    }
    try {
      const lib = library.lib;
      let slot: Buffer | undefined;
      try {
        slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === label);
      } catch (error) {
        throw unreachable('the library does not list its tokens', error);
      }
      if (!slot) throw unreachable(`no token labelled '${label}' is present`, undefined);
      // Verify and the outbox try again and again: Concord must not be the one that locks the token's PIN.
      if (lib.C_GetTokenInfo(slot).flags & (p11.CKF_USER_PIN_FINAL_TRY | p11.CKF_USER_PIN_LOCKED))
        throw unreachable('the token would lock its user PIN at one more wrong try, or has locked it; Concord does not try to log in', undefined);
      const session = lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION);
      try {
        try {
          lib.C_Login(session, p11.CKU_USER, this.connection.pkcs11_pin);
        } catch (error) {
          // Logged in already by a session of this process that is not the adapter's (a crypto unit's):
          // the keystore's PIN is not checked then, so the keystore must not use the token.
          if ((error as { code?: number }).code === p11.CKR_USER_ALREADY_LOGGED_IN)
            throw unreachable('the token is logged in by another part of this process, such as a crypto unit; a keystore cannot share it', error);
          throw unreachable('the token refuses the PIN', error);
        }
        return work(new TokenSession(p11, lib, session));
      } finally {
        lib.C_CloseSession(session);
      }
    } catch (error) {
      if (error instanceof KeystoreUnreachableError) throw error;
      if (error instanceof Error && UNREACHABLE.has(error.message.split(':')[0]!)) throw unreachable('the token fails', error);
      throw error;
    } finally {
      releasePkcs11Library(path);
    }
  }
}

/** What the adapter does in one logged-in session. */
class TokenSession {
  constructor(
    private readonly p11: Pkcs11Module,
    private readonly lib: InstanceType<Pkcs11Module['PKCS11']>,
    private readonly session: Handle,
  ) {}

  key(keyId: string): Handle | undefined {
    return this.find([
      { type: this.p11.CKA_CLASS, value: this.p11.CKO_SECRET_KEY },
      { type: this.p11.CKA_LABEL, value: keyId },
    ])[0];
  }

  existing(keyId: string): Handle {
    const key = this.key(keyId);
    if (!key) throw new Error(`The token holds no key labelled ${keyId}`);
    return key;
  }

  enabled(key: Handle): boolean {
    const [encrypt, decrypt] = this.lib.C_GetAttributeValue(this.session, key, [{ type: this.p11.CKA_ENCRYPT }, { type: this.p11.CKA_DECRYPT }]);
    return encrypt!.value[0] === 1 && decrypt!.value[0] === 1;
  }

  setEnabled(key: Handle, enabled: boolean): void {
    this.lib.C_SetAttributeValue(this.session, key, [
      { type: this.p11.CKA_ENCRYPT, value: enabled },
      { type: this.p11.CKA_DECRYPT, value: enabled },
    ]);
  }

  /** IBM's enc-zero pattern of the key (as key-material.ts computes it for the managed key), computed by the token. */
  pattern(key: Handle): string {
    const copy = this.lib.C_CopyObject(this.session, key, [
      { type: this.p11.CKA_TOKEN, value: false },
      { type: this.p11.CKA_ENCRYPT, value: true },
    ]);
    try {
      this.lib.C_EncryptInit(this.session, { mechanism: this.p11.CKM_AES_ECB }, copy);
      return Buffer.from(this.lib.C_Encrypt(this.session, Buffer.alloc(16), Buffer.alloc(16)))
        .subarray(0, 8)
        .toString('base64');
    } finally {
      this.lib.C_DestroyObject(this.session, copy);
    }
  }

  /**
   * Puts the material into the token as an enabled AES key labelled `keyId`: encrypted here
   * under the public half of the token's wrapping key (RSA-OAEP with SHA-1, the only digest
   * SoftHSM2 unwraps with; OAEP's security does not rest on SHA-1's collision resistance), and
   * unwrapped by the token.
   */
  unwrap(keyId: string, material: Buffer): void {
    const { privateKey, publicKey } = this.wrappingKey();
    const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, material);
    const parameter = { type: this.p11.CK_PARAMS_RSA_OAEP, hashAlg: this.p11.CKM_SHA_1, mgf: this.p11.CKG_MGF1_SHA1, source: CKZ_DATA_SPECIFIED };
    this.lib.C_UnwrapKey(this.session, { mechanism: this.p11.CKM_RSA_PKCS_OAEP, parameter }, privateKey, wrapped, [
      { type: this.p11.CKA_CLASS, value: this.p11.CKO_SECRET_KEY },
      { type: this.p11.CKA_KEY_TYPE, value: this.p11.CKK_AES },
      { type: this.p11.CKA_TOKEN, value: true },
      { type: this.p11.CKA_PRIVATE, value: true },
      { type: this.p11.CKA_SENSITIVE, value: true },
      { type: this.p11.CKA_EXTRACTABLE, value: false },
      { type: this.p11.CKA_ENCRYPT, value: true },
      { type: this.p11.CKA_DECRYPT, value: true },
      { type: this.p11.CKA_LABEL, value: keyId },
    ]);
  }

  destroy(keyId: string): void {
    for (const object of this.find([{ type: this.p11.CKA_LABEL, value: keyId }])) this.lib.C_DestroyObject(this.session, object);
  }

  /**
   * The token's RSA key for unwrapping, made on first use (two processes making it at once make
   * two, and either serves). The public key is read from the private key object itself, so no
   * other object of the token can stand in for it and receive the material.
   */
  private wrappingKey(): { privateKey: Handle; publicKey: KeyObject } {
    const [found] = this.find([
      { type: this.p11.CKA_CLASS, value: this.p11.CKO_PRIVATE_KEY },
      { type: this.p11.CKA_LABEL, value: WRAPPING_KEY_LABEL },
    ]);
    const privateKey = found ?? this.generateWrappingKey();
    const [n, e] = this.lib.C_GetAttributeValue(this.session, privateKey, [{ type: this.p11.CKA_MODULUS }, { type: this.p11.CKA_PUBLIC_EXPONENT }]);
    return {
      privateKey,
      publicKey: createPublicKey({ key: { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') }, format: 'jwk' }),
    };
  }

  /** Only the private key is a token object; the public key lives as long as this session. */
  private generateWrappingKey(): Handle {
    const { privateKey } = this.lib.C_GenerateKeyPair(
      this.session,
      { mechanism: this.p11.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        { type: this.p11.CKA_TOKEN, value: false },
        { type: this.p11.CKA_MODULUS_BITS, value: 3072 },
        { type: this.p11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [
        { type: this.p11.CKA_TOKEN, value: true },
        { type: this.p11.CKA_LABEL, value: WRAPPING_KEY_LABEL },
        { type: this.p11.CKA_PRIVATE, value: true },
        { type: this.p11.CKA_SENSITIVE, value: true },
        { type: this.p11.CKA_EXTRACTABLE, value: false },
        { type: this.p11.CKA_UNWRAP, value: true },
        { type: this.p11.CKA_DECRYPT, value: false },
        { type: this.p11.CKA_SIGN, value: false },
      ],
    );
    return privateKey;
  }

  private find(template: Attribute[]): Handle[] {
    this.lib.C_FindObjectsInit(this.session, template);
    try {
      return this.lib.C_FindObjects(this.session, 100);
    } finally {
      this.lib.C_FindObjectsFinal(this.session);
    }
  }
}
