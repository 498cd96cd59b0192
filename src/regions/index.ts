export { MultiRegionKeys, REPLICATION_JOB, type MultiRegionOptions } from './multi-region-keys.ts';
export { ReplicationBacklog, type PeerBacklog } from './replication-backlog.ts';
export { RegionIdentity } from './region-identity.ts';
export type { PeerConfig } from './peer-auth.ts';
export { unsignedPeerError, type PeerAnswer, type PeerApi, type PeerRequest } from './peer-api.ts';
