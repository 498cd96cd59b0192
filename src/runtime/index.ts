export { startRegion, type RunningRegion } from './start-region.ts';
export { devRegionConfigs, type DevOptions } from './dev-deployment.ts';
export { StartupError } from './startup-error.ts';
