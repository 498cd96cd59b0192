export { createLogger, endLog, REDACTED_PATHS } from './logger.ts';
