export { startRegion, type ProcessRole, type RunningRegion } from './start-region.ts';
export { devRegionConfigs, type DevOptions } from './dev-deployment.ts';
export { serveRegions, type Listening } from './serve-regions.ts';
