import { createSign, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { invalidRequest } from './hsm-error.ts';

/** DER: a tag, its length and its content. */
function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  if (length < 0x80) return Buffer.concat([Buffer.from([tag, length]), content]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | bytes.length, ...bytes]), content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const utf8 = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
const printable = (text: string): Buffer => tlv(0x13, Buffer.from(text, 'ascii'));

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) base128.unshift(0x80 | (value & 0x7f));
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));

/** A distinguished name attribute: country as PrintableString (X.520), the rest UTF8String. */
const attribute = (type: string, value: string): Buffer => set(sequence(oid(type), type === '2.5.4.6' ? printable(value) : utf8(value)));

export interface ClusterCsr {
  /** The PKCS#10 request, PEM. */
  csr: string;
  /** Its public key, SubjectPublicKeyInfo DER in base64, which the signed cluster certificate must carry. */
  publicKey: string;
}

/**
 * The cluster's certificate signing request, as the first HSM of a cluster issues it: an RSA
 * 2048 key pair made here and a PKCS#10 request for it signed with SHA-256. The private key
 * stays with the cluster's HSMs, which in Concord means it is dropped: nothing signs with it.
 */
export function createClusterCsr(clusterId: string, hsmId: string): ClusterCsr {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = sequence(
    attribute('2.5.4.6', 'US'),
    attribute('2.5.4.10', 'Concord'),
    attribute('2.5.4.11', 'CloudHSM'),
    attribute('2.5.4.3', `HSM:${hsmId}:PARTN:${clusterId}`),
  );
  // version 0, subject, the key, and an empty attribute set ([0] IMPLICIT SET OF).
  const info = sequence(Buffer.from([0x02, 0x01, 0x00]), subject, spki, Buffer.from([0xa0, 0x00]));
  const signature = createSign('sha256').update(info).sign(privateKey);
  const der = sequence(info, SHA256_WITH_RSA, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return { csr: `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`, publicKey: spki.toString('base64') };
}

function certificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalidRequest(`The ${what} is not a PEM-encoded X.509 certificate.`);
  }
}

/**
 * Checks what InitializeCluster is given: the signed cluster certificate must certify the
 * CSR's key, be issued and signed by the trust anchor and be valid now; the trust anchor must
 * be a CA certificate.
 */
export function verifyClusterCertificate(signedCert: string, trustAnchor: string, csrPublicKey: string, now: number): void {
  const signed = certificate(signedCert, 'signed cluster certificate');
  const anchor = certificate(trustAnchor, 'trust anchor');
  if (!anchor.ca) throw invalidRequest('The trust anchor is not a CA certificate.');
  const key = signed.publicKey.export({ type: 'spki', format: 'der' });
  if (!key.equals(Buffer.from(csrPublicKey, 'base64'))) throw invalidRequest("The signed certificate's public key does not match the cluster's CSR.");
  if (!signed.checkIssued(anchor) || !signed.verify(anchor.publicKey)) throw invalidRequest('The signed certificate is not issued by the trust anchor.');
  for (const [what, cert] of [['signed certificate', signed] as const, ['trust anchor', anchor] as const]) {
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw invalidRequest(`The ${what} is not valid at this time.`);
  }
}
