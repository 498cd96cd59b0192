import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { devBanner } from './dev-banner.ts';

const banner = devBanner({
  regions: [
    { region: 'us-east-1', url: 'http://127.0.0.1:8080' },
    { region: 'us-west-2', url: 'http://127.0.0.1:8081' },
  ],
  credentials: { accessKeyId: 'AKIAEXAMPLE00000001', secretAccessKey: 'secret-0001', sigkeyPassword: 'password-0001', apiKey: 'apikey-0001' },
  workspace: '/data/tke',
  instances: [
    { region: 'us-east-1', instance: 'instance-east' },
    { region: 'us-west-2', instance: 'instance-west' },
  ],
});

describe('the concord dev banner', () => {
  it('names every region and its endpoint', () => {
    assert.match(banner, /^Concord dev deployment is running: us-east-1 at http:\/\/127\.0\.0\.1:8080, us-west-2 at http:\/\/127\.0\.0\.1:8081\.$/m);
  });

  it('gives one export line pointing the AWS tools at the first region', () => {
    assert.ok(
      banner
        .split('\n')
        .includes(
          'export AWS_ACCESS_KEY_ID=AKIAEXAMPLE00000001 AWS_SECRET_ACCESS_KEY=secret-0001 AWS_ENDPOINT_URL=http://127.0.0.1:8080 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1',
        ),
    );
  });

  it('gives a Terraform provider per region with its KMS and STS endpoints, aliasing all but the first', () => {
    assert.ok(
      banner.includes('provider "aws" {\n  region = "us-east-1"\n  endpoints {\n    kms = "http://127.0.0.1:8080"\n    sts = "http://127.0.0.1:8080"\n  }\n}'),
    );
    assert.ok(
      banner.includes(
        'provider "aws" {\n  alias  = "us_west_2"\n  region = "us-west-2"\n  endpoints {\n    kms = "http://127.0.0.1:8081"\n    sts = "http://127.0.0.1:8081"\n  }\n}',
      ),
    );
    assert.doesNotMatch(banner, /skip_/);
  });

  it('tells the crypto unit administrator how to use the concord tke workspace', () => {
    assert.match(banner, /^export CONCORD_TKE_WORKSPACE=\/data\/tke CONCORD_TKE_PASSWORD=password-0001$/m);
  });

  it("gives the token request for the API key and each region's Key Protect instance", () => {
    const lines = banner.split('\n');
    assert.ok(lines.includes('curl -s -d grant_type=urn:ibm:params:oauth:grant-type:apikey -d apikey=apikey-0001 http://127.0.0.1:8080/identity/token'));
    assert.ok(lines.includes('bluemix-instance: us-east-1=instance-east, us-west-2=instance-west'));
  });
});
