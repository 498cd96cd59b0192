/**
 * Key specs Concord can create, with the usages and algorithms AWS documents for each.
 * Adding a spec is adding data here and its operations in the crypto code.
 */
export interface KeySpecInfo {
  usages: readonly string[];
  encryptionAlgorithms?: readonly string[];
  signingAlgorithms?: readonly string[];
  macAlgorithms?: readonly string[];
  keyAgreementAlgorithms?: readonly string[];
}

export const keySpecs: Readonly<Record<string, KeySpecInfo>> = {
  SYMMETRIC_DEFAULT: { usages: ['ENCRYPT_DECRYPT'], encryptionAlgorithms: ['SYMMETRIC_DEFAULT'] },
};

export const isSymmetric = (keySpec: string): boolean => keySpec === 'SYMMETRIC_DEFAULT';
