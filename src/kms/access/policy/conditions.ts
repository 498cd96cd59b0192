import { KmsError } from '../../../errors/index.ts';
import { wildcardMatch } from './wildcard.ts';

/** One condition key under one operator, e.g. ForAnyValue:StringLike on kms:EncryptionContextKeys. */
export interface ConditionTest {
  operator: string;
  set?: 'ForAnyValue' | 'ForAllValues';
  ifExists: boolean;
  /** Condition keys are case-insensitive: kept in lower case. */
  key: string;
  values: readonly string[];
}

/**
 * What a request holds under one condition key: its values (one for a single-valued key), or
 * the readings of a single-valued key the request states ambiguously: `kms:EncryptionContext:dept`
 * of a context holding both `dept` and `Dept`, since condition keys are case-insensitive.
 */
export type ConditionValue = readonly string[] | { readonly readings: readonly string[] };

/** Request values by lower-case condition key. */
export type ConditionValues = ReadonlyMap<string, ConditionValue>;

interface Operator {
  negated: boolean;
  match(pattern: string, value: string): boolean;
}

const equals = (pattern: string, value: string) => pattern === value;
const equalsIgnoreCase = (pattern: string, value: string) => pattern.toLowerCase() === value.toLowerCase();
const like = (pattern: string, value: string) => wildcardMatch(pattern, value);

const OPERATORS: Record<string, Operator> = {
  StringEquals: { negated: false, match: equals },
  StringNotEquals: { negated: true, match: equals },
  StringEqualsIgnoreCase: { negated: false, match: equalsIgnoreCase },
  StringNotEqualsIgnoreCase: { negated: true, match: equalsIgnoreCase },
  StringLike: { negated: false, match: like },
  StringNotLike: { negated: true, match: like },
  ArnEquals: { negated: false, match: like },
  ArnNotEquals: { negated: true, match: like },
  ArnLike: { negated: false, match: like },
  ArnNotLike: { negated: true, match: like },
  Bool: { negated: false, match: equalsIgnoreCase },
};

const SET_PREFIX = /^(ForAnyValue|ForAllValues):/;

export function parseCondition(operatorName: string, key: string, values: string[]): ConditionTest {
  const set = SET_PREFIX.exec(operatorName)?.[1] as ConditionTest['set'];
  let base = set ? operatorName.slice(set.length + 1) : operatorName;
  const ifExists = base !== 'Null' && base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  if (base !== 'Null' && !Object.hasOwn(OPERATORS, base)) {
    throw new KmsError('MalformedPolicyDocumentException', `The condition operator ${operatorName} is not supported.`);
  }
  return { operator: base, ...(set ? { set } : {}), ifExists, key: key.toLowerCase(), values };
}

/**
 * True when every test holds for the request: tests are ANDed, the values of one test ORed.
 * A key read several ways never widens access: an Allow holds only under every reading, a
 * Deny holds under any one of them.
 */
export function conditionsHold(tests: readonly ConditionTest[], request: ConditionValues, effect: 'Allow' | 'Deny'): boolean {
  return tests.every((test) => {
    const value = request.get(test.key) ?? [];
    if (isArray(value)) return conditionHolds(test, value);
    const holds = (reading: string) => conditionHolds(test, [reading]);
    return effect === 'Deny' ? value.readings.some(holds) : value.readings.every(holds);
  });
}

const isArray = (value: ConditionValue): value is readonly string[] => Array.isArray(value);

function conditionHolds(test: ConditionTest, present: readonly string[]): boolean {
  if (test.operator === 'Null') {
    return test.values.some((value) => (value.toLowerCase() === 'true') === (present.length === 0));
  }
  const operator = OPERATORS[test.operator]!;
  const matchesAny = (value: string) => test.values.some((pattern) => operator.match(pattern, value));
  const satisfies = (value: string) => matchesAny(value) !== operator.negated;
  if (test.set === 'ForAllValues') return present.every(satisfies);
  if (test.set === 'ForAnyValue') return present.some(satisfies);
  if (present.length === 0) return test.ifExists || operator.negated;
  return operator.negated ? present.every(satisfies) : present.some(satisfies);
}
