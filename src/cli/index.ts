export { MgmtClient } from './tke/mgmt-client.ts';
