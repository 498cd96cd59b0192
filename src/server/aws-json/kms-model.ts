import { readFileSync } from 'node:fs';

/**
 * The input shapes of the AWS KMS API (trimmed from botocore's service-2.json), which
 * drive request validation with AWS's own lengths, ranges, enums and patterns.
 */
export interface Shape {
  type: 'structure' | 'string' | 'blob' | 'integer' | 'long' | 'boolean' | 'list' | 'map' | 'timestamp';
  required?: string[];
  members?: Record<string, string>;
  member?: string;
  key?: string;
  value?: string;
  min?: number;
  max?: number;
  enum?: string[];
  pattern?: string;
  sensitive?: boolean;
}

export interface KmsModel {
  operations: Record<string, { input: string | null }>;
  shapes: Record<string, Shape>;
}

export const kmsModel: KmsModel = JSON.parse(readFileSync(new URL('./kms-model.json', import.meta.url), 'utf8'));
