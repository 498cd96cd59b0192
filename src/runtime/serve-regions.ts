import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { endLog } from '../logging/index.ts';
import { ClusterMetrics } from '../server/index.ts';
import type { ProcessRole, RunningRegion } from './start-region.ts';

export interface ServeOptions {
  /** Worker processes; 1 serves from this process, without a cluster. */
  workers: number;
  logger: Logger;
  /** Called once in the primary of several workers, before it forks them: what keeps other deployments off the regions' stores. */
  holdStores?: () => void;
  /** Starts every region in this process, playing `role`; `logger` names the worker in a worker. */
  start: (role: ProcessRole, logger: Logger) => Promise<RunningRegion[]>;
}

export interface Listening {
  region: string;
  url: string;
}

/** The environment variable telling a forked worker which one it is (1..N). */
const WORKER_ENV = 'CONCORD_WORKER';
/** A worker that dies sooner than this after its start is forked again only after REFORK_DELAY_MS, so a crash loop does not spin. */
const SHORT_LIFE_MS = 5000;
const REFORK_DELAY_MS = 1000;

type WorkerMessage = { concord: 'listening'; regions: Listening[] };

/**
 * Serves the regions from `workers` processes (node:cluster): the primary forks the workers,
 * which all listen on each region's port (the primary hands each connection to one of them in
 * turn), forks a worker again when one dies, and on SIGTERM or SIGINT stops them all gracefully
 * before it exits. Worker 1 runs the regions' background work on SQLite (PostgreSQL's advisory
 * locks pick one process of all nodes anyway); when it dies, its successor does. Worker 1 starts
 * first and alone, so that a first start's schema migration and crypto unit ceremony happen once.
 * Returns where the regions listen, once all workers do, in the process the command was started
 * as (the primary, or the one process); undefined in a worker.
 */
export async function serveRegions(options: ServeOptions): Promise<Listening[] | undefined> {
  if (options.workers <= 1) {
    const regions = await options.start({ shared: false, backgroundWork: true }, options.logger);
    stopOnSignal(options.logger, () => Promise.all(regions.map((r) => r.close())));
    return regions.map(({ region, url }) => ({ region, url }));
  }
  if (cluster.isPrimary) return runPrimary(options);
  await runWorker(options);
  return undefined;
}

async function runWorker({ start, logger: primaryLogger }: ServeOptions): Promise<void> {
  const worker = Number(process.env[WORKER_ENV]);
  const logger = primaryLogger.child({ worker, pid: process.pid });
  const regions = await start({ shared: true, backgroundWork: worker === 1 }, logger);
  process.send!({ concord: 'listening', regions: regions.map(({ region, url }) => ({ region, url })) } satisfies WorkerMessage);
  // The primary sends SIGTERM to stop it; when the primary itself dies, node:cluster ends the worker.
  stopOnSignal(logger, () => Promise.all(regions.map((r) => r.close())));
}

async function runPrimary({ workers: count, logger, holdStores }: ServeOptions): Promise<Listening[]> {
  holdStores?.();
  const workers = new Map<number, Worker>();
  let stopping = false;
  let started = false;

  const fork = (index: number): Promise<Listening[]> => {
    const worker = cluster.fork({ [WORKER_ENV]: String(index) });
    const forkedAt = Date.now();
    workers.set(index, worker);
    logger.info({ worker: index, pid: worker.process.pid }, 'worker forked');
    return new Promise((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (ClusterMetrics.answer(worker, message, () => [...workers.values()])) return;
        if ((message as Partial<WorkerMessage> | null)?.concord === 'listening') resolve((message as WorkerMessage).regions);
      });
      worker.on('exit', (code, signal) => {
        if (workers.get(index) === worker) workers.delete(index);
        if (stopping) return;
        if (!started) {
          reject(new WorkerStartError(index, code));
          return;
        }
        logger.error({ worker: index, pid: worker.process.pid, code, signal }, 'worker died; forking it again');
        const delay = Date.now() - forkedAt < SHORT_LIFE_MS ? REFORK_DELAY_MS : 0;
        setTimeout(() => {
          if (!stopping) fork(index).catch(() => undefined);
        }, delay);
      });
    });
  };

  stopOnSignal(logger, async () => {
    stopping = true;
    await Promise.all(
      [...workers.values()].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.process.exitCode !== null || worker.process.signalCode !== null) resolve();
            worker.once('exit', () => {
              resolve();
            });
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  });

  try {
    const listening = await fork(1);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => fork(i + 2)));
    started = true;
    logger.info({ workers: [...workers].map(([worker, { process }]) => ({ worker, pid: process.pid })) }, 'workers listening');
    return listening;
  } catch (error) {
    stopping = true;
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    // The worker said why on stderr; the command exits as it did.
    await endLog(logger);
    return process.exit(error instanceof WorkerStartError ? error.code || 1 : 1);
  }
}

class WorkerStartError extends Error {
  constructor(
    worker: number,
    readonly code: number | null,
  ) {
    super(`worker ${worker} exited with ${code} while starting`);
  }
}

/**
 * Stops gracefully on SIGTERM (a supervisor) or SIGINT: `stop` (regions answer the requests
 * they have begun and drain their outbox; a primary stops its workers so), then the log is
 * written out (it is written asynchronously) and the process exits.
 */
function stopOnSignal(logger: Logger, stop: () => Promise<unknown>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const exit = (code: number) => void endLog(logger).then(() => process.exit(code));
    stop().then(
      () => {
        exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stopping failed');
        exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
