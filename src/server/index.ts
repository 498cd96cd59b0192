export { buildRegionServer, type RegionServerOptions } from './region-server.ts';
export { SigV4Verifier, type AccessKey } from './auth/sigv4.ts';
export { SessionStore, sessionRecords, type StsRole } from './sts/index.ts';
export { ClusterMetrics } from './ops/index.ts';
export { ConsoleSessions } from './console/index.ts';
