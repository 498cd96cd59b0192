import { KmsError } from '../errors/index.ts';

/** Refuses a key policy that is not a JSON object with a Statement, as AWS does. */
export function checkPolicyDocument(policy: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new KmsError('MalformedPolicyDocumentException', 'The key policy is not valid JSON.');
  }
  const statements = (parsed as { Statement?: unknown } | null)?.Statement;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || statements === undefined) {
    throw new KmsError('MalformedPolicyDocumentException', 'The key policy must be a JSON object with a Statement.');
  }
}
