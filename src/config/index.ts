export {
  checkRegionConfig,
  regionNameProblem,
  loadRegionConfig,
  ConfigError,
  type RegionConfig,
  type CryptoUnitConfig,
  type CryptoUnitsConfig,
  type AdministratorConfig,
  type MetricsConfig,
} from './region-config.ts';
