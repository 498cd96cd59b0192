/** What a custom key store needs to know of its cluster. */
export interface KeyStoreCluster {
  state: string;
  /** The availability zones of the cluster's active HSMs, one entry per HSM. */
  hsmZones: string[];
  /** The PEM of the cluster's trust anchor (the issuing CA's certificate), once initialized. */
  trustAnchor?: string;
  /** Clusters of one lineage (one made from a backup of the other, directly or not) hold the same keys. */
  lineageId: string;
}

/** The outcome of logging in as the key store's crypto user, in ConnectionErrorCode's words. */
export type KmsUserLogin = 'OK' | 'INVALID_CREDENTIALS' | 'USER_NOT_FOUND' | 'USER_LOCKED_OUT';

/**
 * The HSM clusters of the region, as KMS custom key stores use them. The cluster domain
 * provides them; KMS reaches them only through this port, as AWS KMS reaches CloudHSM through
 * the `kmsuser` crypto user.
 */
export interface CloudHsmClusters {
  /** The cluster, or undefined when the region has none by that ID (or it is deleted). */
  cluster(clusterId: string): Promise<KeyStoreCluster | undefined>;
  /** Logs in as the crypto user `name`; a wrong password is counted by the HSMs, as any login. */
  login(clusterId: string, name: string, password: string): Promise<KmsUserLogin>;
  /** Generates an AES-256 key on the cluster's HSMs, owned by `name` and labelled `label`; returns its handle. */
  generateKey(clusterId: string, name: string, password: string, label: string): Promise<number>;
  /** The material of the key `name` owns under `label`, which a connected key store reads with its session. */
  keyMaterial(clusterId: string, name: string, label: string): Promise<Buffer | undefined>;
}
