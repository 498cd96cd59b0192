export { stsSurface, type StsSurfaceOptions } from './sts-surface.ts';
export { SessionStore, sessionRecords } from './session-store.ts';
export type { StsRole } from './sts-operations.ts';
