import { createHmac, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../../errors/index.ts';
import type { KeyRecord } from '../keys/index.ts';
import { finishDryRun, type Input, type OperationDeps, type Operations } from '../operation.ts';
import { keyArn, type Caller } from '../region-context.ts';
import { requireAlgorithm, usableKey } from './usable-key.ts';

/** GenerateMac and VerifyMac with HMAC KMS keys; the key bytes never leave the service. */
export function macOperations(deps: OperationDeps): Operations {
  const { ctx, keys } = deps;

  const mac = async (input: Input, caller: Caller, action: string): Promise<{ key: KeyRecord; mac: Buffer }> => {
    const key = await usableKey(deps, input.KeyId, caller, action, { grantTokens: input.GrantTokens }, 'GENERATE_VERIFY_MAC');
    requireAlgorithm(deps, key, 'MAC', input.MacAlgorithm);
    const material = await keys.material(key, key.currentMaterial);
    if (!material) throw new KmsError('KMSInvalidStateException', `${keyArn(ctx, key.keyId)} has no key material.`);
    const hash = `sha${(input.MacAlgorithm as string).slice('HMAC_SHA_'.length)}`;
    return { key, mac: createHmac(hash, material).update(input.Message).digest() };
  };

  return {
    async GenerateMac(input, caller) {
      const { key, mac: value } = await mac(input, caller, 'GenerateMac');
      finishDryRun(input);
      return { Mac: value, MacAlgorithm: input.MacAlgorithm, KeyId: keyArn(ctx, key.keyId) };
    },

    async VerifyMac(input, caller) {
      const { key, mac: expected } = await mac(input, caller, 'VerifyMac');
      finishDryRun(input);
      const given: Buffer = input.Mac;
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new KmsError('KMSInvalidMacException', 'The MAC is not valid for this message, key and MAC algorithm.');
      }
      return { KeyId: keyArn(ctx, key.keyId), MacValid: true, MacAlgorithm: input.MacAlgorithm };
    },
  };
}
