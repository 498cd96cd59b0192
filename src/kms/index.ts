export { KeyService, type KeyServiceOptions } from './key-service.ts';
export type { Caller, RegionContext } from './region-context.ts';
export type { Operation, Input, Output } from './operation.ts';
export { keyMaterialRecords } from './wrapped-key-records.ts';
