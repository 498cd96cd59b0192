import { ConsoleError } from './console-error.ts';

/** A console API body: a JSON object, or empty for none. */
export function parseObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new ConsoleError(400, 'InvalidRequest', 'The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConsoleError(400, 'InvalidRequest', 'The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}
