import { invalidField, missingField } from './uko-error.ts';

/** A request body as the surface parsed it: read field by field, each refusal naming the field as IBM does. */
export type Body = Record<string, unknown>;

export function asBody(value: unknown, name = 'body'): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidField(name, `The ${name} must be a JSON object`);
  return value as Body;
}

/** A string field of at most `max` characters; undefined when absent and not required. */
export function stringField(body: Body, name: string, options: { required: true; max?: number; pattern?: RegExp }): string;
export function stringField(body: Body, name: string, options?: { required?: boolean; max?: number; pattern?: RegExp }): string | undefined;
export function stringField(body: Body, name: string, options: { required?: boolean; max?: number; pattern?: RegExp } = {}): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (options.required) throw missingField(name);
    return undefined;
  }
  if (typeof value !== 'string') throw invalidField(name, `The ${name} field must be a string`);
  if (options.required && value.length === 0) throw missingField(name);
  const max = options.max ?? 255;
  if (value.length > max) throw invalidField(name, `The ${name} field must be at most ${max} characters long`);
  if (options.pattern && !options.pattern.test(value)) throw invalidField(name, `The ${name} field has an invalid value`);
  return value;
}

export function oneOf<T extends string>(body: Body, name: string, allowed: readonly T[], fallback?: T): T {
  const value = body[name] ?? fallback;
  if (value === undefined) throw missingField(name);
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidField(name, `The ${name} field must be one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

export function stringList(body: Body, name: string, options: { maxItems?: number; max?: number } = {}): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const maxItems = options.maxItems ?? 100;
  if (
    !Array.isArray(value) ||
    value.length > maxItems ||
    !value.every((item) => typeof item === 'string' && item.length > 0 && item.length <= (options.max ?? 64))
  ) {
    throw invalidField(name, `The ${name} field must be a list of at most ${maxItems} non-empty strings`);
  }
  return value as string[];
}

export function booleanField(body: Body, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidField(name, `The ${name} field must be true or false`);
  return value;
}

/** `{vault: {id}}` as IBM's creation requests carry it. */
export function vaultIdOf(body: Body): string {
  if (body.vault === undefined) throw missingField('vault');
  return stringField(asBody(body.vault, 'vault'), 'id', { required: true, max: 36 });
}

/** A date as IBM's key properties give it: YYYY-MM-DD, or a relative period such as P30D. */
export const DATE_OR_PERIOD = /^(\d{4}-\d{2}-\d{2}|P\d{1,4}[DMY])$/;
