import { KmsError } from '../../../errors/index.ts';
import { parseCondition, type ConditionTest } from './conditions.ts';

/** Principals a statement names; bare account IDs are normalised to the account root ARN. */
export interface PrincipalSet {
  any: boolean;
  arns: readonly string[];
}

export interface Statement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  principal?: PrincipalSet;
  notPrincipal?: PrincipalSet;
  actions?: readonly string[];
  notActions?: readonly string[];
  resources?: readonly string[];
  notResources?: readonly string[];
  conditions: readonly ConditionTest[];
}

export interface Policy {
  statements: readonly Statement[];
}

/**
 * A key policy names principals in every statement; an identity policy never does; a role's
 * trust policy names principals and no resource (the role is its resource).
 */
export type PolicyKind = 'key' | 'identity' | 'trust';

const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const ACTION = /^(\*|[a-z0-9-]+:[\w*?]+)$/i;
const ACCOUNT_ID = /^\d{12}$/;
const PRINCIPAL_ARN = /^arn:aws:(iam::\d{12}:(root|(user|role)\/[\w+=,.@/-]+)|sts::\d{12}:assumed-role\/[\w+=,.@/-]+)$/;

/** AWS's quota on a key policy document (32 KiB), the one quota of AWS KMS that cannot be raised. */
export const KEY_POLICY_MAX_BYTES = 32 * 1024;

export const malformed = (message: string): KmsError => new KmsError('MalformedPolicyDocumentException', message);

/**
 * A key policy a caller sets (CreateKey, PutKeyPolicy, ReplicateKey): within AWS's size quota,
 * then valid. A policy already stored is read with parsePolicy alone, so no key stops working
 * when a quota changes.
 */
export function parseNewKeyPolicy(document: string): Policy {
  const bytes = Buffer.byteLength(document, 'utf8');
  if (bytes > KEY_POLICY_MAX_BYTES) {
    throw new KmsError(
      'LimitExceededException',
      `The key policy document has ${bytes} bytes; a key policy document can have at most ${KEY_POLICY_MAX_BYTES} bytes.`,
    );
  }
  return parsePolicy(document, 'key');
}

/** Parses a policy document in the IAM policy language, refusing what AWS refuses. */
export function parsePolicy(document: unknown, kind: PolicyKind): Policy {
  let parsed: unknown = document;
  if (typeof document === 'string') {
    try {
      parsed = JSON.parse(document);
    } catch {
      throw malformed('The policy is not valid JSON.');
    }
  }
  if (!isObject(parsed)) throw malformed('The policy must be a JSON object.');
  for (const field of Object.keys(parsed)) {
    if (field !== 'Version' && field !== 'Id' && field !== 'Statement') throw malformed(`The policy has an unknown element ${field}.`);
  }
  if (parsed.Version !== undefined && parsed.Version !== '2012-10-17' && parsed.Version !== '2008-10-17') {
    throw malformed('The policy Version must be 2012-10-17 or 2008-10-17.');
  }
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement == null ? [] : [parsed.Statement];
  if (statements.length === 0) throw malformed('The policy must contain at least one Statement.');
  return { statements: statements.map((statement) => parseStatement(statement, kind)) };
}

function parseStatement(raw: unknown, kind: PolicyKind): Statement {
  if (!isObject(raw)) throw malformed('Each Statement must be a JSON object.');
  for (const field of Object.keys(raw)) {
    if (!STATEMENT_FIELDS.has(field)) throw malformed(`The policy has an unknown Statement element ${field}.`);
  }
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw malformed('The Effect of a Statement must be Allow or Deny.');
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string') throw malformed('The Sid of a Statement must be a string.');
  const hasPrincipal = raw.Principal !== undefined || raw.NotPrincipal !== undefined;
  if (kind !== 'identity' && (raw.Principal === undefined) === (raw.NotPrincipal === undefined)) {
    throw malformed(`Each Statement of a ${kind} policy must have exactly one of Principal or NotPrincipal.`);
  }
  if (kind === 'trust' && (raw.Resource !== undefined || raw.NotResource !== undefined)) throw malformed('A trust policy cannot have a Resource.');
  if (kind === 'identity' && hasPrincipal) throw malformed('An identity-based policy cannot have a Principal.');
  const actions = exactlyOne(raw, 'Action', 'NotAction');
  const resources = kind === 'trust' ? { negated: false, values: ['*'] } : exactlyOne(raw, 'Resource', 'NotResource');
  for (const action of actions.values) {
    if (!ACTION.test(action)) throw malformed(`The action ${action} is not valid.`);
  }
  const statement: Statement = { effect: raw.Effect, conditions: parseConditionBlock(raw.Condition) };
  if (actions.negated) statement.notActions = actions.values;
  else statement.actions = actions.values;
  if (resources.negated) statement.notResources = resources.values;
  else statement.resources = resources.values;
  if (raw.Sid !== undefined) statement.sid = raw.Sid;
  if (raw.Principal !== undefined) statement.principal = parsePrincipal(raw.Principal);
  if (raw.NotPrincipal !== undefined) statement.notPrincipal = parsePrincipal(raw.NotPrincipal);
  return statement;
}

function exactlyOne(raw: Record<string, unknown>, name: string, negatedName: string): { negated: boolean; values: string[] } {
  if ((raw[name] === undefined) === (raw[negatedName] === undefined)) {
    throw malformed(`Each Statement must have exactly one of ${name} or ${negatedName}.`);
  }
  const negated = raw[name] === undefined;
  return { negated, values: stringList(raw[negated ? negatedName : name], negated ? negatedName : name) };
}

function parsePrincipal(raw: unknown): PrincipalSet {
  if (raw === '*') return { any: true, arns: [] };
  if (!isObject(raw)) throw invalidPrincipals();
  const arns: string[] = [];
  let any = false;
  for (const [type, value] of Object.entries(raw)) {
    const entries = stringList(value, `Principal ${type}`);
    // Service, Federated and CanonicalUser principals never call Concord: kept valid, never matched.
    if (type !== 'AWS') continue;
    for (const entry of entries) {
      if (entry === '*') any = true;
      else if (ACCOUNT_ID.test(entry)) arns.push(`arn:aws:iam::${entry}:root`);
      else if (PRINCIPAL_ARN.test(entry)) arns.push(entry);
      else throw invalidPrincipals();
    }
  }
  return { any, arns };
}

function parseConditionBlock(raw: unknown): ConditionTest[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) throw malformed('The Condition of a Statement must be a JSON object.');
  const tests: ConditionTest[] = [];
  for (const [operator, block] of Object.entries(raw)) {
    if (!isObject(block)) throw malformed(`The condition ${operator} must map condition keys to values.`);
    for (const [key, values] of Object.entries(block)) {
      tests.push(parseCondition(operator, key, conditionValues(values, operator)));
    }
  }
  return tests;
}

function conditionValues(raw: unknown, operator: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number')) {
    throw malformed(`The values of condition ${operator} must be strings, booleans or numbers.`);
  }
  return list.map(String);
}

function stringList(raw: unknown, element: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    throw malformed(`${element} must be a string or a non-empty list of strings.`);
  }
  return list as string[];
}

export const invalidPrincipals = (): KmsError => malformed('Policy contains a statement with one or more invalid principals.');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
