import { randomBytes } from 'node:crypto';
import { send } from './load.ts';
import { onCeiling, onDev, type BenchEnv, type Scenario } from './scenario.ts';

/** A RAW message of a size typical for signed tokens and manifests. */
export const SIGNED_MESSAGE = randomBytes(256).toString('base64');

const createKey = async (env: BenchEnv, KeySpec: string, KeyUsage: string): Promise<string> =>
  ((await send(onDev(env, 'CreateKey', { Description: 'benchmark', KeySpec, KeyUsage }), env.credentials)).KeyMetadata as { KeyId: string }).KeyId;

const sign = (keySpec: string, SigningAlgorithm: string): Scenario => ({
  name: `Sign ${keySpec}`,
  async prepare(env) {
    const KeyId = await createKey(env, keySpec, 'SIGN_VERIFY');
    const body = { KeyId, Message: SIGNED_MESSAGE, MessageType: 'RAW', SigningAlgorithm };
    return { subject: onDev(env, 'Sign', body), ceiling: onCeiling(env, 'Sign', body) };
  },
});

const generateMac: Scenario = {
  name: 'GenerateMac HMAC_256',
  async prepare(env) {
    const KeyId = await createKey(env, 'HMAC_256', 'GENERATE_VERIFY_MAC');
    const body = { KeyId, Message: SIGNED_MESSAGE, MacAlgorithm: 'HMAC_SHA_256' };
    return { subject: onDev(env, 'GenerateMac', body), ceiling: onCeiling(env, 'GenerateMac', body) };
  },
};

/** Asymmetric and HMAC scenarios; their bare ceilings are in bench/signing-ceilings.ts. */
export const signingScenarios: Scenario[] = [sign('ECC_NIST_P256', 'ECDSA_SHA_256'), sign('RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'), generateMac];
