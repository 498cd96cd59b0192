import type { ErrorObject } from 'ajv';
import { closestName } from './closest-name.ts';

/** One thing wrong with a configuration: the field (dotted path) and what is wrong with it, in words. */
export interface ConfigProblem {
  field: string;
  text: string;
}

/** Schema nodes as the translation reads them: the annotations this module relies on. */
interface SchemaNode {
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly oneOf?: readonly SchemaNode[];
  readonly discriminator?: { readonly propertyName: string };
  readonly const?: unknown;
  readonly [keyword: string]: unknown;
}

/** Fields whose value may be repeated in a message: names and choices, never secrets, URLs or paths. */
const SHOWN_VALUES = new Set(['region', 'account', 'kind', 'role', 'logLevel']);

const TYPES: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string (text)',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of fields',
};

/**
 * Ajv's errors in plain words: the allowed values listed, the likely meant field for an unknown
 * one, a pattern or a combination of fields explained by the schema's `description` of it, never
 * the pattern itself or "oneOf". The errors of each branch of a combination (one of several sets
 * of fields) are dropped for the one sentence the combination's description says, except in a
 * discriminated union (store, crypto unit), where the branch the discriminator picked is the rule.
 */
export function configProblems(errors: readonly ErrorObject[], schema: SchemaNode): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const error of errors) {
    if (insideUndiscriminatedBranch(error, schema)) continue;
    const problem = describe(error);
    if (problem && !problems.some((p) => p.field === problem.field && p.text === problem.text)) problems.push(problem);
  }
  return problems;
}

function describe(error: ErrorObject): ConfigProblem | undefined {
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  const at = fieldOf(error.instancePath);
  const field = (name: string) => (at ? `${at}.${name}` : name);
  const params = error.params as Record<string, unknown>;
  const shown = (value: unknown) => (SHOWN_VALUES.has(lastSegment(at)) && typeof value === 'string' ? ` (it is '${value}')` : '');
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const meant = closestName(name, known);
      return {
        field: field(name),
        text: `is not a known field${meant ? `; did you mean ${field(meant)}?` : `; the fields here are ${known.join(', ')}`}`,
      };
    }
    case 'required':
      return { field: field(String(params.missingProperty)), text: 'is required' };
    case 'discriminator': {
      const tag = String(params.tag);
      const allowed = (parent.oneOf ?? []).map((branch) => String(branch.properties?.[tag]?.const));
      return { field: field(tag), text: `must be one of: ${allowed.join(', ')}${typeof params.tagValue === 'string' ? ` (it is '${params.tagValue}')` : ''}` };
    }
    case 'enum':
      return { field: at, text: `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}${shown(error.data)}` };
    case 'type':
      return { field: at, text: `must be ${TYPES[String(params.type)] ?? String(params.type)}` };
    case 'pattern':
    case 'format':
      // A pattern on property names (peers) reports the name; the schema's description says what it must be.
      return error.propertyName !== undefined
        ? { field: field(error.propertyName), text: `is not ${parent.description ?? 'an allowed name'}` }
        : { field: at, text: `must be ${parent.description ?? 'in the documented form'}${shown(error.data)}` };
    case 'minimum':
      return { field: at, text: `must be at least ${String(params.limit)}` };
    case 'maximum':
      return { field: at, text: `must be at most ${String(params.limit)}` };
    case 'minLength':
      return { field: at, text: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long` };
    case 'maxLength':
      return { field: at, text: `must be at most ${String(params.limit)} characters long` };
    case 'minItems':
      return { field: at, text: `must list at least ${String(params.limit)}` };
    case 'maxItems':
      return { field: at, text: `must list at most ${String(params.limit)}` };
    case 'oneOf':
    case 'anyOf':
    case 'not':
      return { field: at, text: parent.description ?? 'combines fields that do not go together' };
    case 'propertyNames':
      // Its pattern error says it.
      return undefined;
    default:
      return { field: at, text: 'is not valid' };
  }
}

/** Whether the error is about one branch of a oneOf/anyOf/not that is not a discriminated union. */
function insideUndiscriminatedBranch(error: ErrorObject, schema: SchemaNode): boolean {
  const segments = error.schemaPath.replace(/^#\/?/, '').split('/');
  let node: unknown = schema;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const owner = node as SchemaNode;
    if ((segment === 'oneOf' || segment === 'anyOf') && owner.discriminator === undefined) return true;
    if (segment === 'not') return true;
    node = (node as Record<string, unknown>)[segment];
    if (node === undefined) return false;
  }
  return false;
}

const fieldOf = (instancePath: string): string => instancePath.replace(/^\//, '').replaceAll('/', '.');
const lastSegment = (field: string): string => field.slice(field.lastIndexOf('.') + 1);
