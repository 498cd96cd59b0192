import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Readiness } from './readiness.ts';
import type { RegionMetrics } from './region-metrics.ts';

/** Who may read GET /metrics: whoever reaches its own listener, and/or a holder of the bearer token on the API port. */
export interface MetricsAccess {
  listen?: { host: string; port: number };
  bearerToken?: string;
}

/**
 * GET /healthz (the process answers, and which process it is), GET /readyz (it can serve: 200, or 503 with the reasons,
 * for a load balancer to stop sending to it), and GET /metrics on the API port when a bearer
 * token opens it; all outside the API surfaces and their authentication.
 */
export function opsRoutes(app: FastifyInstance, region: string, readiness: Readiness, metrics: RegionMetrics, access: MetricsAccess): void {
  // The pid tells a region's worker processes apart (for an operator, and the workers test).
  app.get('/healthz', () => Promise.resolve({ status: 'ok', region, pid: process.pid }));
  app.get('/readyz', async (_request, reply) => {
    const report = await readiness.check();
    return reply.status(report.status === 'ready' ? 200 : 503).send(report);
  });
  const token = access.bearerToken;
  if (token === undefined) return;
  const expected = digest(token);
  app.get('/metrics', async (request: FastifyRequest, reply: FastifyReply) => {
    const [scheme, given] = (request.headers.authorization ?? '').split(' ', 2);
    // Digests have one length whatever was sent, so the comparison tells nothing of the token.
    if (scheme !== 'Bearer' || given === undefined || !timingSafeEqual(digest(given), expected)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ message: 'A valid bearer token is required to read the metrics.' });
    }
    return reply.header('content-type', metrics.contentType).send(await metrics.text());
  });
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** GET /metrics, open, on a listener of its own: for an address only the monitoring network reaches. */
export class MetricsListener {
  private readonly server: Server;

  constructor(
    metrics: RegionMetrics,
    private readonly listen: { host: string; port: number },
    log: Logger,
  ) {
    this.server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?', 1)[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
        return;
      }
      metrics.text().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: unknown) => {
          log.error({ err: error }, 'metrics scrape failed');
          response.writeHead(500, { 'content-type': 'text/plain' }).end('The metrics could not be collected.\n');
        },
      );
    });
  }

  /** Listens; returns the URL of /metrics. */
  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listen.port, this.listen.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        const port = typeof address === 'object' && address ? address.port : this.listen.port;
        resolve(`http://${this.listen.host}:${port}/metrics`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}
