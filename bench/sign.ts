import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const SIGNED_HEADERS = 'content-type;host;x-amz-date;x-amz-target';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * SigV4 for AWS JSON `POST /` requests, cheap enough that a load generator is not the
 * bottleneck: like the server, it derives the signing key once per day.
 */
export class JsonRequestSigner {
  private day = '';
  private signingKey: Buffer = Buffer.alloc(0);

  constructor(
    private readonly credentials: Credentials,
    private readonly region: string,
    private readonly service = 'kms',
  ) {}

  /** Headers for one request; `bodyHash` is the body's SHA-256 in hex. */
  sign(host: string, target: string, bodyHash: string, now = new Date()): Record<string, string> {
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    if (day !== this.day) {
      const kDate = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
      this.signingKey = hmac(hmac(hmac(kDate, this.region), this.service), 'aws4_request');
      this.day = day;
    }
    const canonicalHeaders = `content-type:${CONTENT_TYPE}\nhost:${host}\nx-amz-date:${amzDate}\nx-amz-target:${target}\n`;
    const canonicalRequest = `POST\n/\n\n${canonicalHeaders}\n${SIGNED_HEADERS}\n${bodyHash}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey).update(stringToSign).digest('hex');
    return {
      'content-type': CONTENT_TYPE,
      host,
      'x-amz-date': amzDate,
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
    };
  }
}
