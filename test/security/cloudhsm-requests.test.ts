import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startDev, type DevDeployment, type RawRequest } from '../e2e/harness.ts';

/**
 * The CloudHSM v2 API shares POST / with the AWS KMS API: a request is routed by the service its
 * X-Amz-Target names, and each surface accepts only signatures made for its own service.
 */
describe('CloudHSM requests cannot cross into another service or operation', () => {
  let dev: DevDeployment;
  const cloudHsm = (request: RawRequest) => rawRequest(dev.endpoint(), { targetPrefix: 'BaldrApiService', service: 'cloudhsm', ...request });

  before(async () => {
    dev = await startDev({ regions: ['us-east-1'] });
  });
  after(() => dev.stop());

  it('serves a request signed for cloudhsm', async () => {
    const answer = await cloudHsm({ operation: 'DescribeClusters' });
    assert.deepEqual([answer.status, answer.json.Clusters], [200, []]);
  });

  it('refuses on the CloudHSM API a request signed for kms, so a KMS signature is not a CloudHSM one', async () => {
    const answer = await cloudHsm({ operation: 'DescribeClusters', service: 'kms' });
    assert.deepEqual([answer.status, answer.json.__type], [400, 'InvalidSignatureException']);
    assert.equal(answer.json.message, "Credential should be scoped to correct service: 'cloudhsm'.");
  });

  it('refuses on the KMS API a request signed for cloudhsm', async () => {
    const answer = await rawRequest(dev.endpoint(), { operation: 'ListKeys', service: 'cloudhsm' });
    assert.deepEqual([answer.status, answer.json.__type], [400, 'InvalidSignatureException']);
  });

  it('refuses an unsigned X-Amz-Target, so a signed DescribeClusters cannot be replayed as DeleteCluster', async () => {
    const answer = await cloudHsm({
      operation: 'DescribeClusters',
      body: JSON.stringify({ ClusterId: 'cluster-abcdefghijk' }),
      unsigned: { 'x-amz-target': 'BaldrApiService.DeleteCluster' },
    });
    assert.deepEqual([answer.status, answer.json.__type], [400, 'InvalidSignatureException']);
  });

  it('answers hostile bodies with CloudHSM 4xx errors, never a 500: not JSON, wrong types, too large, unknown operations', async () => {
    const notJson = await cloudHsm({ operation: 'DescribeClusters', body: '{"Filters":' });
    assert.deepEqual([notJson.status, notJson.json.__type], [400, 'CloudHsmInvalidRequestException']);
    const wrongType = await cloudHsm({ operation: 'DescribeClusters', body: JSON.stringify({ MaxResults: 'many' }) });
    assert.deepEqual([wrongType.status, wrongType.json.__type], [400, 'CloudHsmInvalidRequestException']);
    const tooLarge = await cloudHsm({ operation: 'DescribeClusters', body: JSON.stringify({ NextToken: 'x'.repeat(300 * 1024) }) });
    assert.deepEqual([tooLarge.status, tooLarge.json.__type], [413, 'CloudHsmInvalidRequestException']);
    const unknown = await cloudHsm({ operation: 'CreateBackup' });
    assert.deepEqual([unknown.status, unknown.json.__type], [400, 'UnknownOperationException']);
    const inherited = await cloudHsm({ operation: 'constructor' });
    assert.deepEqual([inherited.status, inherited.json.__type], [400, 'UnknownOperationException']);
  });
});
