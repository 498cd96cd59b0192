import { randomUUID } from 'node:crypto';
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** How long a scrape waits for each worker's metrics; a worker that does not answer (one dying) is left out. */
const COLLECT_TIMEOUT_MS = 2000;

type Metrics = MetricObjectWithValues<MetricValue<string>>[];

/** Messages between a region's workers and their primary; `concord` tells them from other IPC traffic. */
type ScrapeMessage =
  | { concord: 'metrics-scrape'; id: string; region: string }
  | { concord: 'metrics-collect'; id: string; region: string }
  | { concord: 'metrics-collected'; id: string; metrics: Metrics | undefined }
  | { concord: 'metrics-scraped'; id: string; text: string; error?: string };

const isScrapeMessage = (message: unknown): message is ScrapeMessage =>
  typeof message === 'object' && message !== null && String((message as { concord?: unknown }).concord).startsWith('metrics-');

/**
 * One scrape of a region served by several worker processes shows the region's totals: the
 * worker that receives GET /metrics asks the primary, which collects every worker's registry
 * for that region and merges them (prom-client's aggregation: counters and histograms add up;
 * each gauge says how it combines, e.g. the store's state is the same seen from any worker).
 * Outside a cluster a scrape is the process's own registry.
 */
export class ClusterMetrics {
  private readonly waiting = new Map<string, (text: string) => void>();

  constructor(
    private readonly region: string,
    private readonly registry: Registry,
  ) {
    if (!cluster.isWorker) return;
    process.on('message', (message: unknown) => {
      if (!isScrapeMessage(message)) return;
      if (message.concord === 'metrics-collect' && message.region === this.region) {
        this.registry.getMetricsAsJSON().then(
          (metrics) => process.send?.({ concord: 'metrics-collected', id: message.id, metrics } satisfies ScrapeMessage),
          () => process.send?.({ concord: 'metrics-collected', id: message.id, metrics: undefined } satisfies ScrapeMessage),
        );
      } else if (message.concord === 'metrics-scraped') this.waiting.get(message.id)?.(message.text);
    });
  }

  /** The region's metrics in Prometheus' text format, over every worker when there are several. */
  text(): Promise<string> {
    if (!cluster.isWorker || !process.send) return this.registry.metrics();
    const id = randomUUID();
    return new Promise((resolve) => {
      this.waiting.set(id, (text) => {
        this.waiting.delete(id);
        resolve(text);
      });
      process.send!({ concord: 'metrics-scrape', id, region: this.region } satisfies ScrapeMessage);
    });
  }

  /**
   * In the primary: answers the scrapes `worker` passes on, collecting from all `workers`.
   * Returns false for messages that are not about metrics.
   */
  static answer(worker: Worker, message: unknown, workers: () => readonly Worker[]): boolean {
    if (!isScrapeMessage(message) || message.concord !== 'metrics-scrape') return false;
    void collect(message.region, workers()).then((text) => {
      if (worker.isConnected()) worker.send({ concord: 'metrics-scraped', id: message.id, text } satisfies ScrapeMessage);
    });
    return true;
  }
}

async function collect(region: string, workers: readonly Worker[]): Promise<string> {
  const id = randomUUID();
  const answers = await Promise.all(workers.filter((w) => w.isConnected()).map((worker) => collectFrom(worker, region, id)));
  return AggregatorRegistry.aggregate(answers.filter((a): a is Metrics => a !== undefined)).metrics();
}

function collectFrom(worker: Worker, region: string, id: string): Promise<Metrics | undefined> {
  return new Promise((resolve) => {
    const done = (metrics: Metrics | undefined) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(metrics);
    };
    const onMessage = (message: unknown) => {
      if (isScrapeMessage(message) && message.concord === 'metrics-collected' && message.id === id) done(message.metrics);
    };
    const onExit = () => {
      done(undefined);
    };
    const timer = setTimeout(onExit, COLLECT_TIMEOUT_MS);
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    worker.send({ concord: 'metrics-collect', id, region } satisfies ScrapeMessage);
  });
}
