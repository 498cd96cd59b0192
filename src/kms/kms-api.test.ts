import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GENERATED_FILE, generateKmsApi, readTypeModel } from '../../scripts/generate-kms-types.ts';

describe('kms-api.ts', () => {
  it('is what scripts/generate-kms-types.ts makes of the committed model', () => {
    assert.equal(readFileSync(GENERATED_FILE, 'utf8'), generateKmsApi(readTypeModel()), 'regenerate it: node --import tsx scripts/generate-kms-types.ts');
  });
});
