export { aesGcmEncrypt, aesGcmDecrypt, IV_LENGTH, TAG_LENGTH, type Sealed } from './aes-gcm.ts';
export { aesKeyUnwrapPad, aesKeyWrapPad } from './aes-key-wrap.ts';
export type { EncryptionContext } from './encryption-context.ts';
export { openBlob, parseBlob, sealBlob, type BlobHeader, type ParsedBlob } from './ciphertext-blob.ts';
export { sealImportEnvelope, type ImportEnvelope } from './import-envelope.ts';
