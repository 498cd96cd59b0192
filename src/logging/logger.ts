import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

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

/**
 * One JSON line per entry on standard output, for log collectors; on a terminal, where a
 * person reads them, the same entries pretty-printed.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'concord' } },
    options.destination ??
      (process.stdout.isTTY ? pretty({ destination: 1, ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' }) : pino.destination({ sync: false })),
  );
}

/**
 * Writes out everything logged and closes the log, for a process about to exit: the
 * destination writes asynchronously, and an exit would drop the write under way. Nothing may
 * be logged after.
 */
export function endLog(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    (Partial<NodeJS.WritableStream> & { destroyed?: boolean }) | undefined;
  if (typeof stream?.end !== 'function' || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once!('close', () => {
      resolve();
    });
    stream.end!();
  });
}
