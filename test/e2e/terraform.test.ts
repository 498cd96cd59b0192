import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { ACCESS_KEY_ID, ACCOUNT, SECRET_ACCESS_KEY, startDev, type DevDeployment } from './harness.ts';

/**
 * Terraform (1.11, hashicorp/aws 5.x) against `concord dev` with two regions: the scenario
 * groups (test/e2e/terraform/*.tf) are applied, checked through the AWS SDK, planned again (no
 * changes: exit code 0 of -detailed-exitcode) and destroyed. Terraform and the provider mirror must be installed
 * (.ci/run checks): a missing one fails the test, it never skips.
 *
 * The providers are configured as against AWS, with only the endpoints set (kms and sts): the
 * provider asks Concord's STS for the caller and account (GetCallerIdentity) as it asks AWS's.
 */

const [FIRST, SECOND] = ['us-east-1', 'us-west-2'] as const;
const SCENARIOS = new URL('./terraform/', import.meta.url).pathname;

/**
 * The hashicorp/aws filesystem mirror: the parent of the registry.terraform.io directory the
 * machines carry that holds the provider itself (plugin caches hold only links to it).
 */
function providerMirror(): string {
  const found = spawnSync('find', ['/', '-xdev', '-maxdepth', '4', '-type', 'd', '-name', 'registry.terraform.io'], { encoding: 'utf8' });
  const mirror = found.stdout
    .split('\n')
    .filter(Boolean)
    .find(
      (registry) =>
        spawnSync('find', [registry, '-path', '*/hashicorp/aws/5.*', '-type', 'f', '-name', 'terraform-provider-aws*'], { encoding: 'utf8' }).stdout.trim() !==
        '',
    );
  if (!mirror)
    throw new Error(
      'No Terraform provider mirror holds hashicorp/aws 5.x (a registry.terraform.io directory within 4 levels of /): install one, as .ci/run expects.',
    );
  return dirname(mirror);
}

function requireTerraform(): void {
  const version = spawnSync('terraform', ['version', '-json'], { encoding: 'utf8' });
  if (version.status !== 0)
    throw new Error(`terraform is not on the PATH (${version.error?.message ?? version.stderr}): install Terraform 1.11, as .ci/run expects.`);
  const { terraform_version } = JSON.parse(version.stdout) as { terraform_version: string };
  assert.match(terraform_version, /^1\.(1[1-9]|[2-9]\d)\./, `Terraform ${terraform_version} is older than 1.11`);
}

interface Run {
  code: number;
  output: string;
}

describe('Terraform against a two-region concord dev deployment', () => {
  let dev: DevDeployment | undefined;
  let root: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    requireTerraform();
    const mirror = providerMirror();
    root = mkdtempSync(join(tmpdir(), 'concord-terraform-'));
    mkdirSync(join(root, 'plugin-cache'));
    writeFileSync(
      join(root, 'cli.tfrc'),
      `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
plugin_cache_dir = ${JSON.stringify(join(root, 'plugin-cache'))}
`,
    );
    // Only what Terraform needs: no AWS profile, session token or region of the caller's shell leaks in.
    env = {
      PATH: process.env.PATH,
      HOME: root,
      TF_CLI_CONFIG_FILE: join(root, 'cli.tfrc'),
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    };
    dev = await startDev({ regions: [FIRST, SECOND] });
  });
  after(async () => {
    await dev?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const terraform = (dir: string, ...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile('terraform', [...args, '-no-color'], { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      });
    });
  const expect = async (dir: string, code: number, ...args: string[]): Promise<string> => {
    const run = await terraform(dir, ...args);
    assert.equal(run.code, code, `terraform ${args[0]} in ${dir} exited with ${run.code}:\n${run.output}`);
    return run.output;
  };

  let dir: string;
  const material = randomBytes(32).toString('base64');

  /**
   * One working directory holds every scenario group (a file each), with two providers: the
   * first region's, and the second region's (alias "second"), which reaches the second region
   * through the first region's endpoint, as a single-endpoint setup does. One directory, not
   * one per group: each terraform command starts the provider, whose start-up is most of the
   * CPU time, so one apply, plan and destroy for all groups keeps the suite within minutes on
   * two cores. The multi-Region group's replica provider is the second region's own endpoint,
   * as Terraform users configure it, which is what makes ReplicateKey arrive signed for the
   * first region at the second region's endpoint.
   */
  const writeWorkingDir = (): string => {
    const workingDir = join(root, 'scenarios');
    mkdirSync(workingDir);
    for (const scenario of ['multi-region', 'imported-material', 'key-specs'])
      copyFileSync(join(SCENARIOS, `${scenario}.tf`), join(workingDir, `${scenario}.tf`));
    // STS is regional, as AWS's regional STS endpoints are: each provider asks its own region's STS.
    const provider = (region: string, endpoint: string, alias?: string) => `
provider "aws" {
  ${alias ? `alias = "${alias}"` : ''}
  region                  = "${region}"
  skip_metadata_api_check = true
  endpoints {
    kms = "${endpoint}"
    sts = "${dev!.endpoint(region)}"
  }
}
`;
    writeFileSync(
      join(workingDir, 'providers.tf'),
      `terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
variable "account" {
  type = string
}
${provider(FIRST, dev!.endpoint(FIRST))}${provider(SECOND, dev!.endpoint(SECOND), 'second')}${provider(SECOND, dev!.endpoint(FIRST), 'second_through_first')}`,
    );
    writeFileSync(join(workingDir, 'terraform.tfvars.json'), JSON.stringify({ account: ACCOUNT, key_material_base64: material }));
    return workingDir;
  };

  const keyState = async (region: string, KeyId: string) => (await dev!.client(region).send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
  const aliasTarget = async (region: string, AliasName: string) =>
    (await dev!.client(region).send(new ListAliasesCommand({}))).Aliases!.find((alias) => alias.AliasName === AliasName)?.TargetKeyId;
  let outputs: Record<string, { value: unknown }>;
  let multiRegionKey = '';

  it('applies every scenario', async () => {
    dir = writeWorkingDir();
    await expect(dir, 0, 'init', '-input=false');
    await expect(dir, 0, 'apply', '-auto-approve', '-input=false', '-parallelism=20');
    outputs = JSON.parse(await expect(dir, 0, 'output', '-json')) as Record<string, { value: unknown }>;
  });

  it("made a multi-Region key with rotation, its replica through the second region's endpoint, and aliases in both", async () => {
    multiRegionKey = (await aliasTarget(FIRST, 'alias/terraform-multi-region')) ?? '';
    assert.match(multiRegionKey, /^mrk-/);
    assert.equal(await aliasTarget(SECOND, 'alias/terraform-multi-region'), multiRegionKey);
    const replica = await keyState(SECOND, multiRegionKey);
    assert.equal(replica.MultiRegionConfiguration?.MultiRegionKeyType, 'REPLICA');
    assert.equal(replica.KeyState, 'Enabled');
    const { CiphertextBlob } = await dev!.client(FIRST).send(new EncryptCommand({ KeyId: multiRegionKey, Plaintext: Buffer.from('from terraform') }));
    const { Plaintext } = await dev!.client(SECOND).send(new DecryptCommand({ CiphertextBlob }));
    assert.equal(Buffer.from(Plaintext!).toString(), 'from terraform');
  });

  it('imported the same material into a multi-Region external key and its replica', async () => {
    const keyId = (await aliasTarget(FIRST, 'alias/terraform-external'))!;
    const [primary, replica] = [await keyState(FIRST, keyId), await keyState(SECOND, keyId)];
    assert.equal(primary.Origin, 'EXTERNAL');
    assert.equal(replica.Origin, 'EXTERNAL');
    assert.equal(replica.KeyState, 'Enabled');
    const { CiphertextBlob } = await dev!.client(SECOND).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('imported') }));
    assert.equal(Buffer.from((await dev!.client(FIRST).send(new DecryptCommand({ CiphertextBlob }))).Plaintext!).toString(), 'imported');
  });

  it('made keys of every spec, a key policy, grants with constraints, a ciphertext the secrets data source decrypts', () => {
    assert.equal(outputs.decrypted?.value, 'a secret Terraform keeps');
  });

  it('plans no changes after the apply', async () => {
    await expect(dir, 0, 'plan', '-detailed-exitcode', '-input=false', '-parallelism=20');
  });

  it('destroys every scenario', async () => {
    await expect(dir, 0, 'destroy', '-auto-approve', '-input=false', '-parallelism=20');
    assert.equal((await keyState(SECOND, multiRegionKey)).KeyState, 'PendingDeletion');
  });
});
