export { startRegion, type ProcessRole, type RunningRegion } from './start-region.ts';
export { devRegionConfigs, type DevOptions } from './dev-deployment.ts';
export { serveRegions, type Listening } from './serve-regions.ts';
export { StartupError } from './startup-error.ts';
export { holdRegionStores } from './hold-region-stores.ts';
