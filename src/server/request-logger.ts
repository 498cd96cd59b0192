import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/**
 * A request's logger that makes its pino child (which serializes the bindings) only when a
 * line is actually written, so requests that log nothing at the configured level cost none.
 */
export class RequestLogger implements FastifyBaseLogger {
  private bound: Logger | undefined;

  constructor(
    private readonly parent: Logger,
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

  fatal(...args: any[]): void {
    this.write('fatal', args);
  }

  error(...args: any[]): void {
    this.write('error', args);
  }

  warn(...args: any[]): void {
    this.write('warn', args);
  }

  info(...args: any[]): void {
    this.write('info', args);
  }

  debug(...args: any[]): void {
    this.write('debug', args);
  }

  trace(...args: any[]): void {
    this.write('trace', args);
  }

  silent(): void {}

  private logger(): Logger {
    return (this.bound ??= this.parent.child(this.bindings));
  }

  private write(level: Level, args: any[]): void {
    if (!(this.bound ?? this.parent).isLevelEnabled(level)) return;
    const logger = this.logger();
    (logger[level] as (...a: any[]) => void).apply(logger, args);
  }
}

/** Fastify's childLoggerFactory: lazy request loggers, unless the route sets its own level or serializers. */
export function requestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options);
  return new RequestLogger(logger as Logger, bindings);
}
