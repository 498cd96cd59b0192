import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/** What a request logger needs of Fastify's logger, which is the region's pino logger. */
type ParentLogger = Pick<Logger, 'level' | 'child' | 'isLevelEnabled'>;

/**
 * A request's logger that makes its pino child (which serializes the bindings) only when a
 * line is actually written, so requests that log nothing at the configured level cost none.
 */
export class RequestLogger implements FastifyBaseLogger {
  private bound: Logger | undefined;

  constructor(
    private readonly parent: ParentLogger,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return this.bound?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  silent(): void {}

  private logger(): Logger {
    return (this.bound ??= this.parent.child(this.bindings));
  }

  private write(level: Level, args: unknown[]): void {
    if (!(this.bound ?? this.parent).isLevelEnabled(level)) return;
    const logger = this.logger();
    Reflect.apply(logger[level], logger, args);
  }
}

/** Fastify's childLoggerFactory: lazy request loggers, unless the route sets its own level or serializers. */
export function requestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options);
  return new RequestLogger(logger as FastifyBaseLogger & ParentLogger, bindings);
}
