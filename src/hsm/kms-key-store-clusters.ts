import type { CloudHsmService } from './cloud-hsm-service.ts';
import type { HsmContents } from './hsm-contents.ts';
import { generateSymmetricKey } from './hsm-keys.ts';
import { login, MAX_LOGIN_FAILURES } from './hsm-users.ts';

/** key_mgmt_util's key type of AES keys. */
const AES = 31;

/**
 * The clusters of a region as KMS custom key stores use them (KMS's CloudHsmClusters port):
 * KMS is one more client of the HSMs, logging in as its crypto user like any other.
 */
export class KmsKeyStoreClusters {
  constructor(private readonly service: CloudHsmService) {}

  async cluster(clusterId: string): Promise<{ state: string; hsmZones: string[]; trustAnchor?: string; lineageId: string } | undefined> {
    const record = await this.service.clusterRecord(clusterId);
    if (!record) return undefined;
    return {
      state: record.state,
      hsmZones: record.hsms.filter((hsm) => hsm.state === 'ACTIVE').map((hsm) => hsm.availabilityZone),
      ...(record.trustAnchor !== undefined ? { trustAnchor: record.trustAnchor } : {}),
      lineageId: record.lineageId,
    };
  }

  /** A crypto user's login, counted by the HSMs as every login is. */
  login(clusterId: string, name: string, password: string): Promise<'OK' | 'INVALID_CREDENTIALS' | 'USER_NOT_FOUND' | 'USER_LOCKED_OUT'> {
    return this.service.onHsms(clusterId, (contents) => {
      const user = contents.users.find((u) => u.name === name && u.type === 'CU');
      if (!user) return 'USER_NOT_FOUND';
      if (user.loginFailures >= MAX_LOGIN_FAILURES) return 'USER_LOCKED_OUT';
      return login(contents, 'CU', name, password).user ? 'OK' : 'INVALID_CREDENTIALS';
    });
  }

  async generateKey(clusterId: string, name: string, password: string, label: string): Promise<number> {
    const key = await this.service.asUser(clusterId, { type: 'CU', name, password }, (contents, user) =>
      generateSymmetricKey(contents, user, { type: AES, bytes: 32, label, extractable: false }),
    );
    return key.handle;
  }

  keyMaterial(clusterId: string, name: string, label: string): Promise<Buffer | undefined> {
    return this.service.onHsms(clusterId, (contents: HsmContents) => {
      const owner = contents.users.find((u) => u.name === name)?.id;
      const key = contents.keys.find((k) => k.owner === owner && k.attributes.label === label);
      return key && Buffer.from(key.material, 'base64');
    });
  }
}
