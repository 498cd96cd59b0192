import type { KeyObject } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalCommand, signCommand, type CommandArgs, type CommandName, type UnitInfo } from '../../src/cryptounits/index.ts';
import { NodeSha256 } from '../../src/util/index.ts';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY } from './harness.ts';

export interface MgmtAnswer {
  status: number;
  json: Record<string, unknown>;
}

export interface MgmtOptions {
  /** Signs with the test access key ID but this secret. */
  secret?: string;
  service?: string;
  /** false sends the request without SigV4. */
  sign?: boolean;
  as?: { accessKeyId: string; secretAccessKey: string };
}

/** A /mgmt/v1 request to a region, signed with SigV4 for concord-mgmt by an independent signer (unless sign is false). */
export async function mgmtRequest(
  endpoint: string,
  region: string,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
  options: MgmtOptions = {},
): Promise<MgmtAnswer> {
  const url = new URL(`/mgmt/v1${path}`, endpoint);
  const headers: Record<string, string> = { host: url.host, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
  let sent = headers;
  if (options.sign !== false) {
    const signer = new SignatureV4({
      service: options.service ?? 'concord-mgmt',
      region,
      credentials: options.as ?? { accessKeyId: ACCESS_KEY_ID, secretAccessKey: options.secret ?? SECRET_ACCESS_KEY },
      sha256: NodeSha256,
    });
    sent = (
      await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers,
        ...(body !== undefined ? { body } : {}),
      })
    ).headers;
  }
  const { host: _host, ...fetchHeaders } = sent;
  const response = await fetch(url, { method, headers: fetchHeaders, ...(body !== undefined ? { body } : {}) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A command on a unit, bound to the nonce it shows now and signed by `signers` (administrators or not). */
export async function unitCommand(
  endpoint: string,
  region: string,
  unitId: string,
  command: CommandName,
  args: CommandArgs,
  signers: KeyObject[],
  options: MgmtOptions = {},
): Promise<MgmtAnswer> {
  const { nonce } = (await mgmtRequest(endpoint, region, 'GET', `/units/${unitId}`, undefined, options)).json as unknown as UnitInfo;
  const message = canonicalCommand(unitId, nonce, command, args);
  const body = JSON.stringify({ command, args, nonce, signatures: signers.map((key) => signCommand(key, message)) });
  return mgmtRequest(endpoint, region, 'POST', `/units/${unitId}/commands`, body, options);
}
