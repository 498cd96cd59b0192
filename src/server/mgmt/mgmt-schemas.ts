import type { JsonBodySchema } from './json-body-validator.ts';

const MAX_REWRAP_BATCH = 5000;
const NOT_AN_OBJECT = 'The request body is not a JSON object.';

/** POST /units/:id/commands: one of `commands` for the unit, signed by its administrators. */
export const commandBody = (commands: readonly string[]): JsonBodySchema => ({
  type: 'object',
  description: NOT_AN_OBJECT,
  required: ['command', 'args', 'nonce', 'signatures'],
  properties: {
    command: { description: `'command' is one of ${commands.join(', ')}.`, type: 'string', enum: commands },
    args: { description: "'args' is an object of strings and numbers.", type: 'object', additionalProperties: { type: ['string', 'number'] } },
    nonce: { description: "'nonce' is the unit's current nonce.", type: 'string' },
    signatures: {
      description: "'signatures' is a list of {publicKey, signature}.",
      type: 'array',
      items: { type: 'object', required: ['publicKey', 'signature'], properties: { publicKey: { type: 'string' }, signature: { type: 'string' } } },
    },
  },
});

export interface RewrapBody {
  pattern: string;
  cursor?: string;
  limit?: number | null;
}

/** POST /rewrap: the next batch of stored records to re-wrap under the master key `pattern` names. */
export const REWRAP_BODY: JsonBodySchema = {
  type: 'object',
  description: NOT_AN_OBJECT,
  required: ['pattern'],
  properties: {
    pattern: { description: "'pattern' is the verification pattern to re-wrap under.", type: 'string' },
    cursor: { description: "'cursor' is a string from the previous answer.", type: 'string' },
    // null, as an absent limit, asks for the default batch.
    limit: { description: `'limit' is between 1 and ${MAX_REWRAP_BATCH}.`, type: 'integer', nullable: true, minimum: 1, maximum: MAX_REWRAP_BATCH },
  },
};
