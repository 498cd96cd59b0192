import type { Registry } from 'prom-client';

/** Seconds: from a cache hit to a crypto unit on a slow token, and the store's own timeouts. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Label sets beyond this many are folded into one, so no caller can grow the metrics without bound. */
const MAX_SERIES = 2000;
const STATUS_CLASSES: Record<number, string> = { 1: '1xx', 2: '2xx', 3: '3xx', 4: '4xx', 5: '5xx' };

interface Latency {
  labels: { surface: string; operation: string; status: string };
  /** Observations per bucket of LATENCY_BUCKETS, then above the last. */
  buckets: number[];
  sum: number;
  count: number;
}

interface Series {
  labels: { surface: string; operation: string; status: string; error: string };
  count: number;
  latency: Latency;
}

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * Requests counted and timed as they end, for concord_requests_total,
 * concord_request_duration_seconds and concord_errors_total. prom-client's own metrics hash
 * and validate their labels on every observation; on the hot path this keeps plain counts in
 * series found by one map lookup, and turns them into Prometheus values only when scraped.
 */
export class RequestStats {
  private readonly series = new Map<string, Series>();
  private readonly latencies = new Map<string, Latency>();

  constructor(registry: Registry) {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) => {
      // A metric is whatever the registry can get a name, help, type and values from.
      registry.registerMetric({
        name,
        help,
        type,
        aggregator: 'sum',
        get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
      } as never);
    };
    metric('concord_requests_total', 'Requests answered, by surface, operation, status class and error', 'counter', () =>
      [...this.series.values()].map(({ labels, count }) => ({ labels, value: count })),
    );
    metric('concord_errors_total', 'Requests that ended in an error, by surface and error type', 'counter', () => {
      const byType = new Map<string, Value>();
      for (const { labels, count } of this.series.values()) {
        if (labels.error === '') continue;
        const key = `${labels.surface}\n${labels.error}`;
        const value = byType.get(key) ?? { labels: { surface: labels.surface, type: labels.error }, value: 0 };
        value.value += count;
        byType.set(key, value);
      }
      return [...byType.values()];
    });
    metric('concord_request_duration_seconds', 'Time from request to response, by surface, operation and status class', 'histogram', () =>
      [...this.latencies.values()].flatMap(({ labels, buckets, sum, count }) => {
        let cumulative = 0;
        return [
          ...LATENCY_BUCKETS.map((le, i) => ({
            metricName: 'concord_request_duration_seconds_bucket',
            labels: { ...labels, le },
            value: (cumulative += buckets[i]!),
          })),
          { metricName: 'concord_request_duration_seconds_bucket', labels: { ...labels, le: '+Inf' }, value: count },
          { metricName: 'concord_request_duration_seconds_sum', labels, value: sum },
          { metricName: 'concord_request_duration_seconds_count', labels, value: count },
        ];
      }),
    );
  }

  /** Counts and times one answered request; `error` is its error type when it failed. */
  record(surface: string, operation: string, statusCode: number, error: string | undefined, seconds: number): void {
    const status = STATUS_CLASSES[Math.floor(statusCode / 100)] ?? 'other';
    const key = `${surface}\n${operation}\n${status}\n${error ?? ''}`;
    const series = this.series.get(key) ?? this.add(key, surface, operation, status, error ?? '');
    series.count += 1;
    const latency = series.latency;
    latency.count += 1;
    latency.sum += seconds;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    latency.buckets[i]! += 1;
  }

  private add(key: string, surface: string, given: string, status: string, givenError: string): Series {
    const full = this.series.size >= MAX_SERIES;
    const operation = full ? 'other' : given;
    const error = full && givenError !== '' ? 'other' : givenError;
    const foldedKey = full ? `${surface}\n${operation}\n${status}\n${error}` : key;
    const existing = this.series.get(foldedKey);
    if (existing) return existing;
    const latencyKey = `${surface}\n${operation}\n${status}`;
    let latency = this.latencies.get(latencyKey);
    if (!latency) {
      latency = { labels: { surface, operation, status }, buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.latencies.set(latencyKey, latency);
    }
    const series: Series = { labels: { surface, operation, status, error }, count: 0, latency };
    this.series.set(foldedKey, series);
    return series;
  }
}
