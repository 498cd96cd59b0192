export { checkRegionConfig, loadRegionConfig, ConfigError, type RegionConfig, type CryptoUnitConfig, type CryptoUnitsConfig } from './region-config.ts';
