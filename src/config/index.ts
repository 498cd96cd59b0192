export { checkRegionConfig, loadRegionConfig, ConfigError, type RegionConfig } from './region-config.ts';
