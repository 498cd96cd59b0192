export { type CryptoUnit, MasterKeyUnavailableError } from './crypto-unit.ts';
export { SoftwareCryptoUnit } from './software-unit.ts';
