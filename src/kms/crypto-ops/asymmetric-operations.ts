import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import { keyAlgorithms, keySpecs, requireEnabled } from '../keys/index.ts';
import { finishDryRun, refuseRecipient, type Input, type OperationDeps, type Operations } from '../operation.ts';
import { keyArn, type Caller } from '../region-context.ts';
import { keyObjects } from './key-objects.ts';
import { signMessage, verifySignature } from './signing.ts';
import { requireAlgorithm, usableKey } from './usable-key.ts';

/** Sign, Verify, GetPublicKey and DeriveSharedSecret with asymmetric KMS keys. */
export function asymmetricOperations(deps: OperationDeps): Operations {
  const { ctx, keys, authorize } = deps;
  const objects = keyObjects(keys);

  const signingKey = async (input: Input, caller: Caller, action: string) => {
    const key = await usableKey(deps, input.KeyId, caller, action, { grantTokens: input.GrantTokens }, 'SIGN_VERIFY');
    requireAlgorithm(deps, key, 'signing', input.SigningAlgorithm);
    return { key, pair: await objects.keyPair(key) };
  };

  return {
    async Sign(input, caller) {
      const { key, pair } = await signingKey(input, caller, 'Sign');
      const signature = signMessage(pair.privateKey, input.SigningAlgorithm, input.Message, input.MessageType ?? 'RAW');
      finishDryRun(input);
      return { KeyId: keyArn(ctx, key.keyId), Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
    },

    async Verify(input, caller) {
      const { key, pair } = await signingKey(input, caller, 'Verify');
      const valid = verifySignature(pair.publicKey, input.SigningAlgorithm, input.Message, input.MessageType ?? 'RAW', input.Signature);
      finishDryRun(input);
      if (!valid) throw new KmsError('KMSInvalidSignatureException', 'The signature is not valid for this message, key and signing algorithm.');
      return { KeyId: keyArn(ctx, key.keyId), SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
    },

    async GetPublicKey(input, caller) {
      const key = await keys.find(input.KeyId, { allowAlias: true });
      await authorize(caller, 'GetPublicKey', key, { grantTokens: input.GrantTokens });
      const arn = keyArn(ctx, key.keyId);
      requireEnabled(arn, key.state);
      const material = keySpecs[key.keySpec]?.material.kind;
      if (material === 'symmetric' || material === 'hmac') {
        throw new KmsError('UnsupportedOperationException', `${arn} key spec ${key.keySpec} has no public key.`);
      }
      const { publicKeyDer } = await objects.keyPair(key);
      return {
        KeyId: arn,
        PublicKey: publicKeyDer,
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        ...keyAlgorithms(key.keySpec, key.keyUsage),
      };
    },

    async DeriveSharedSecret(input, caller) {
      refuseRecipient(input);
      const key = await usableKey(deps, input.KeyId, caller, 'DeriveSharedSecret', { grantTokens: input.GrantTokens }, 'KEY_AGREEMENT');
      requireAlgorithm(deps, key, 'key agreement', input.KeyAgreementAlgorithm);
      const { privateKey } = await objects.keyPair(key);
      const peer = peerPublicKey(input.PublicKey, privateKey);
      finishDryRun(input);
      return {
        KeyId: keyArn(ctx, key.keyId),
        SharedSecret: diffieHellman({ privateKey, publicKey: peer }),
        KeyAgreementAlgorithm: input.KeyAgreementAlgorithm,
        KeyOrigin: key.origin,
      };
    },
  };
}

/** The peer's DER SubjectPublicKeyInfo, which must be an EC key on the KMS key's curve. */
function peerPublicKey(der: Buffer, privateKey: KeyObject): KeyObject {
  let peer: KeyObject;
  try {
    peer = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    throw new KmsError('ValidationException', 'PublicKey is not a valid DER-encoded X.509 SubjectPublicKeyInfo.');
  }
  if (peer.asymmetricKeyType !== 'ec' || peer.asymmetricKeyDetails?.namedCurve !== privateKey.asymmetricKeyDetails?.namedCurve) {
    throw new KmsError('ValidationException', 'PublicKey must be an elliptic curve public key on the same curve as the KMS key.');
  }
  return peer;
}
