import { KmsError } from '../../errors/index.ts';
import { algorithmsOf, requireEnabled, type KeyRecord } from '../keys/index.ts';
import type { OperationDeps, RequestFacts } from '../operation.ts';
import { keyArn, type Caller } from '../region-context.ts';

/** Finds a key for a cryptographic operation and checks permission, state and key usage, in AWS's order. */
export async function usableKey(
  { ctx, keys, authorize }: OperationDeps,
  identifier: string,
  caller: Caller,
  action: string,
  facts: RequestFacts,
  keyUsage: string,
): Promise<KeyRecord> {
  const key = await keys.findShared(identifier, { allowAlias: true });
  await authorize(caller, action, key, facts);
  const arn = keyArn(ctx, key.keyId);
  requireEnabled(arn, key.state);
  if (key.keyUsage !== keyUsage) {
    throw new KmsError('InvalidKeyUsageException', `${arn} key usage is ${key.keyUsage} which is not valid for ${action}.`);
  }
  return key;
}

/** Refuses an algorithm the key's spec and usage do not list (`kind` names it in the message, e.g. 'signing'). */
export function requireAlgorithm(deps: OperationDeps, key: KeyRecord, kind: string, algorithm: string): void {
  if (!algorithmsOf(key.keySpec, key.keyUsage).includes(algorithm)) {
    throw new KmsError('InvalidKeyUsageException', `The ${kind} algorithm ${algorithm} is not valid for ${keyArn(deps.ctx, key.keyId)}.`);
  }
}
