export { CustomKeyStores, KMS_USER, type CustomKeyStoreOperationName } from './custom-key-stores.ts';
export type { CloudHsmClusters, KeyStoreCluster, KmsUserLogin } from './cloud-hsm-clusters.ts';
