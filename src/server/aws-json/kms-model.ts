import { readFileSync } from 'node:fs';

/**
 * The shapes of the AWS KMS operations Concord performs (trimmed from botocore's service-2.json
 * by scripts/trim-kms-model.ts): inputs drive request validation with AWS's own lengths, ranges,
 * enums and patterns, plus the limits AWS documents outside botocore's model (`maxTotalLength`);
 * inputs and outputs are the domain's types (src/kms/kms-api.ts, by scripts/generate-kms-types.ts).
 */
export interface Shape {
  type: 'structure' | 'string' | 'blob' | 'integer' | 'long' | 'boolean' | 'list' | 'map' | 'timestamp';
  required?: string[];
  members?: Record<string, string>;
  member?: string;
  key?: string;
  value?: string;
  min?: number;
  /** For a map, the most entries it may have. */
  max?: number;
  /**
   * For a map of strings, the most characters its keys and values may have together: AWS's
   * 384 for a grant constraint; 8192 for an encryption context, Concord's own bound where
   * AWS KMS documents none (the AWS Encryption SDK's limit).
   */
  maxTotalLength?: number;
  enum?: string[];
  pattern?: string;
  sensitive?: boolean;
}

export interface KmsModel {
  operations: Record<string, { input: string | null; output: string | null }>;
  shapes: Record<string, Shape>;
}

export const kmsModel = JSON.parse(readFileSync(new URL('./kms-model.json', import.meta.url), 'utf8')) as KmsModel;
