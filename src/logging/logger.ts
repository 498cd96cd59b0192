import pino, { type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  'secretAccessKey',
  '*.secretAccessKey',
  'accessKeys[*].secretAccessKey',
  'Plaintext',
  '*.Plaintext',
  'req.headers.authorization',
  'headers.authorization',
  'masterKey',
  '*.masterKey',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'concord' } },
    options.destination ?? pino.destination({ sync: false }),
  );
}
