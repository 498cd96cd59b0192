/** STS's XML namespace, on every answer and error. */
const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** An element tree as STS answers: text leaves, nested elements, absent members left out. */
export interface XmlFields {
  [name: string]: string | XmlFields | undefined;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
/** Text content needs only these escaped; quotes stay as STS writes them. */
export const escapeXml = (text: string): string => text.replace(/[&<>]/g, (c) => ESCAPES[c]!);

function elements(fields: XmlFields): string {
  let xml = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    xml += `<${name}>${typeof value === 'string' ? escapeXml(value) : elements(value)}</${name}>`;
  }
  return xml;
}

/** `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>`, as STS answers an operation. */
export function stsResponse(action: string, result: XmlFields, requestId: string): string {
  return (
    `<${action}Response xmlns="${NAMESPACE}"><${action}Result>${elements(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>\n`
  );
}

/** STS's error document; Type is Sender for the caller's fault, Receiver for the service's. */
export function stsErrorResponse(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return `<ErrorResponse xmlns="${NAMESPACE}">${elements({ Error: { Type: type, Code: code, Message: message } })}<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`;
}
