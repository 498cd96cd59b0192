export { checkRegionConfig, loadRegionConfig, ConfigError, type RegionConfig, type CryptoUnitConfig, type CryptoUnitsConfig, type AdministratorConfig } from './region-config.ts';
