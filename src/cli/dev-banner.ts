/** What `concord dev` prints once every region listens: enough to start using it by pasting. */
export interface DevBannerInput {
  regions: { region: string; url: string }[];
  credentials: { accessKeyId: string; secretAccessKey: string; sigkeyPassword: string; apiKey: string };
  workspace: string;
  /** Each region's Key Protect instance, the `bluemix-instance` of the IBM surfaces. */
  instances: { region: string; instance: string }[];
}

/**
 * The banner of a running `concord dev`: the regions, a shell block that points the AWS CLI,
 * boto3 and the SDKs at the first region (any region is served through its endpoint), and a
 * Terraform provider per region whose KMS and STS endpoints are that region's.
 */
export function devBanner({ regions, credentials, workspace, instances }: DevBannerInput): string {
  const [first] = regions;
  if (!first) throw new Error('a dev deployment has at least one region');
  const providers = regions.map(({ region, url }, i) =>
    [
      'provider "aws" {',
      ...(i === 0 ? [] : [`  alias  = "${region.replaceAll('-', '_')}"`]),
      `  region = "${region}"`,
      `  endpoints {`,
      `    kms = "${url}"`,
      `    sts = "${url}"`,
      `  }`,
      '}',
    ].join('\n'),
  );
  return [
    `Concord dev deployment is running: ${regions.map(({ region, url }) => `${region} at ${url}`).join(', ')}.`,
    '',
    // AWS_REGION for the SDKs, AWS_DEFAULT_REGION for the AWS CLI v1 and boto3, which read only that one.
    'Use it from a shell (AWS CLI, boto3, the AWS SDKs; every region answers through this endpoint):',
    '',
    `unset AWS_PROFILE AWS_SESSION_TOKEN`,
    `export AWS_ACCESS_KEY_ID=${credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey} AWS_ENDPOINT_URL=${first.url} AWS_REGION=${first.region} AWS_DEFAULT_REGION=${first.region}`,
    `aws kms create-key --description demo`,
    '',
    'Terraform (hashicorp/aws 5.x; the credentials come from the exported variables):',
    '',
    ...providers,
    '',
    `Crypto unit administrator 'dev-admin' (concord tke):`,
    '',
    `export CONCORD_TKE_WORKSPACE=${workspace} CONCORD_TKE_PASSWORD=${credentials.sigkeyPassword}`,
    `concord tke cryptounit-list --endpoint ${first.url}`,
    '',
    'IBM Key Protect (/api/v2) and UKO (/api/v4) take a bearer token for this API key:',
    '',
    `curl -s -d grant_type=urn:ibm:params:oauth:grant-type:apikey -d apikey=${credentials.apiKey} ${first.url}/identity/token`,
    `bluemix-instance: ${instances.map(({ region, instance }) => `${region}=${instance}`).join(', ')}`,
    '',
  ].join('\n');
}
