export { aesGcmEncrypt, aesGcmDecrypt, IV_LENGTH, TAG_LENGTH, type Sealed } from './aes-gcm.ts';
export { aesKeyUnwrapPad, aesKeyWrapPad } from './aes-key-wrap.ts';
export { canonicalContext, type EncryptionContext } from './encryption-context.ts';
export { encodeHeader, encodeBlob, parseBlob, type BlobHeader, type ParsedBlob } from './ciphertext-blob.ts';
