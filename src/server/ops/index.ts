export { ClusterMetrics } from './cluster-metrics.ts';
export { MetricsListener, opsRoutes, type MetricsAccess } from './ops-routes.ts';
export { Readiness, type ReadinessReport } from './readiness.ts';
export { RegionMetrics, type MetricSources } from './region-metrics.ts';
export { errorTypeOf, operationOf, surfaceOf } from './request-labels.ts';
