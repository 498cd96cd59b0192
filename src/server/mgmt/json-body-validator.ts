import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { CryptoUnitError } from '../../cryptounits/index.ts';

/**
 * A JSON body's schema whose descriptions are the refusals: the whole schema's when the body
 * is no JSON object, a member's when that member is missing or breaks its constraints.
 */
export interface JsonBodySchema {
  type: 'object';
  description: string;
  required?: readonly string[];
  properties: Record<string, { description: string } & Record<string, unknown>>;
}

// No coercion, no defaults, no removal: the body is checked as sent.
const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });

/**
 * Fastify's validator compiler for the management API's bodies: one step from the bytes
 * Fastify read to a checked JSON value, which becomes request.body. It runs after the
 * surface's preValidation hooks, so a caller is authenticated and authorized before anything
 * about its body is answered. A refusal names the first member, in the schema's order, that
 * is wrong, as an InvalidRequest.
 */
export const jsonBodyValidator: FastifySchemaCompiler<JsonBodySchema> = ({ schema }) => {
  const validate = ajv.compile(schema);
  const members = Object.keys(schema.properties);
  return (bytes: unknown) => {
    const value = parse(bytes);
    if (value === undefined) return { error: invalid(schema.description) };
    if (validate(value)) return { value };
    const wrong = new Set((validate.errors ?? []).map(memberOf));
    const first = members.find((member) => wrong.has(member));
    return { error: invalid(first === undefined ? schema.description : schema.properties[first]!.description) };
  };
};

function parse(bytes: unknown): unknown {
  if (!Buffer.isBuffer(bytes)) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The top-level member an error is about, or '' for the body itself. */
const memberOf = (error: ErrorObject): string =>
  error.keyword === 'required' && error.instancePath === '' ? String(error.params.missingProperty) : (error.instancePath.split('/')[1] ?? '');

const invalid = (message: string): CryptoUnitError => new CryptoUnitError('InvalidRequest', message);
