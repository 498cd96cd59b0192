import { KmsError } from '../../errors/index.ts';
import type { KmsModel, Shape } from './kms-model.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Compiled constraint patterns, shared by every request. */
const patterns = new Map<string, RegExp>();

/**
 * Checks a request body against its input shape and converts it for the domain: blobs
 * become Buffers, null members are dropped. Wrong JSON types are SerializationExceptions;
 * broken constraints are one ValidationException listing them all, in AWS's words.
 */
export function validateInput(model: KmsModel, shapeName: string, body: unknown): Record<string, unknown> {
  const violations: string[] = [];
  const result = convert({ model, violations }, shapeName, body, '') as Record<string, unknown>;
  if (violations.length > 0) {
    const count = violations.length === 1 ? '1 validation error detected' : `${violations.length} validation errors detected`;
    throw new KmsError('ValidationException', `${count}: ${violations.join('; ')}`);
  }
  return result;
}

/** One validation's model and the violations found so far (module functions, not per-call closures, keep requests cheap). */
interface Pass {
  model: KmsModel;
  violations: string[];
}

function convert(pass: Pass, name: string, value: unknown, path: string): unknown {
  const shape = pass.model.shapes[name]!;
  switch (shape.type) {
    case 'structure': {
      if (!isObject(value)) throw wrongType(value, 'a structure', path);
      const out: Record<string, unknown> = {};
      for (const member of shape.required ?? []) {
        if (value[member] === undefined || value[member] === null) {
          pass.violations.push(`Value null at '${join(path, member)}' failed to satisfy constraint: Member must not be null`);
        }
      }
      for (const member in shape.members) {
        const memberValue = value[member];
        if (memberValue === undefined || memberValue === null) continue;
        out[member] = convert(pass, shape.members[member]!, memberValue, join(path, member));
      }
      return out;
    }
    case 'string': {
      if (typeof value !== 'string') throw wrongType(value, 'a String', path);
      checkLength(pass, shape, value, value.length, path);
      if (shape.enum && !shape.enum.includes(value)) {
        pass.violations.push(`${describe(shape, value, path)} failed to satisfy constraint: Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      }
      if (shape.pattern) {
        const pattern = patterns.get(shape.pattern) ?? new RegExp(shape.pattern, 'u');
        patterns.set(shape.pattern, pattern);
        if (!pattern.test(value)) {
          pass.violations.push(
            `${describe(shape, value, path)} failed to satisfy constraint: Member must satisfy regular expression pattern: ${shape.pattern}`,
          );
        }
      }
      return value;
    }
    case 'blob': {
      if (typeof value !== 'string') throw wrongType(value, 'a Blob', path);
      const bytes = Buffer.from(value, 'base64');
      // Padded base64 re-encodes to itself, which is cheaper to confirm than the pattern on large blobs.
      if (bytes.toString('base64') !== value && (!BASE64.test(value) || value.length % 4 === 1)) {
        throw new KmsError('SerializationException', `Value for '${path}' is not valid base64.`);
      }
      checkLength(pass, shape, value, bytes.length, path);
      return bytes;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(value, 'an Integer', path);
      if (shape.min !== undefined && value < shape.min) {
        pass.violations.push(`Value '${value}' at '${path}' failed to satisfy constraint: Member must have value greater than or equal to ${shape.min}`);
      }
      if (shape.max !== undefined && value > shape.max) {
        pass.violations.push(`Value '${value}' at '${path}' failed to satisfy constraint: Member must have value less than or equal to ${shape.max}`);
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw wrongType(value, 'a Boolean', path);
      return value;
    case 'timestamp':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(value, 'a Timestamp', path);
      return value;
    case 'list': {
      if (!Array.isArray(value)) throw wrongType(value, 'a List', path);
      checkLength(pass, shape, JSON.stringify(value), value.length, path);
      return value.map((item, index) => convert(pass, shape.member!, item, `${path}.${index + 1}.member`));
    }
    case 'map': {
      if (!isObject(value)) throw wrongType(value, 'a Map', path);
      const out: Record<string, unknown> = {};
      let entries = 0;
      let totalLength = 0;
      for (const [key, item] of Object.entries(value)) {
        convert(pass, shape.key!, key, path);
        entries += 1;
        totalLength += key.length;
        if (item === null) continue;
        // A key named __proto__ is a key like any other; assigned, it would be dropped and unbind an encryption context.
        Object.defineProperty(out, key, { value: convert(pass, shape.value!, item, `${path}.${key}`), enumerable: true, writable: true, configurable: true });
        if (typeof item === 'string') totalLength += item.length;
      }
      if (shape.max !== undefined && entries > shape.max) {
        pass.violations.push(
          `${describe(shape, JSON.stringify(value), path)} failed to satisfy constraint: Member must have length less than or equal to ${shape.max}`,
        );
      }
      if (shape.maxTotalLength !== undefined && totalLength > shape.maxTotalLength) {
        pass.violations.push(
          `${describe(shape, JSON.stringify(value), path)} failed to satisfy constraint: Member must have keys and values of total length less than or equal to ${shape.maxTotalLength}`,
        );
      }
      return out;
    }
  }
}

function checkLength(pass: Pass, shape: Shape, shown: string, length: number, path: string): void {
  if (shape.min !== undefined && length < shape.min) {
    pass.violations.push(`${describe(shape, shown, path)} failed to satisfy constraint: Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.max !== undefined && length > shape.max) {
    pass.violations.push(`${describe(shape, shown, path)} failed to satisfy constraint: Member must have length less than or equal to ${shape.max}`);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** AWS names members in lower camel case, dotted for nesting. */
const join = (path: string, member: string): string => {
  const name = member.charAt(0).toLowerCase() + member.slice(1);
  return path === '' ? name : `${path}.${name}`;
};

/** Sensitive values (plaintext, keys) are never echoed back. */
const describe = (shape: Shape, value: string, path: string): string =>
  shape.sensitive || shape.type === 'blob' ? `Value at '${path}'` : `Value '${value.length > 256 ? value.slice(0, 256) + '...' : value}' at '${path}'`;

function wrongType(value: unknown, expected: string, path: string): KmsError {
  const found = Array.isArray(value)
    ? 'Start of list'
    : isObject(value)
      ? 'Start of structure or map'
      : typeof value === 'string'
        ? 'STRING_VALUE'
        : typeof value === 'number'
          ? 'NUMBER_VALUE'
          : typeof value === 'boolean'
            ? 'BOOLEAN_VALUE'
            : 'value';
  return new KmsError('SerializationException', `${found} can not be converted to ${expected}${path ? ` at '${path}'` : ''}`);
}
