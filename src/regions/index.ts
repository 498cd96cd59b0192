export { MultiRegionKeys, type MultiRegionOptions } from './multi-region-keys.ts';
export { REPLICATION_JOB } from './outbox.ts';
export { RegionIdentity } from './region-identity.ts';
export type { PeerConfig } from './peer-auth.ts';
export type { PeerAnswer, PeerApi, PeerRequest } from './peer-api.ts';
