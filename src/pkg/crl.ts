// Certificate revocation lists (--client-crl-file / --peer-crl-file): the serial numbers a CRL
// revokes, read from PEM or DER as Go's x509.ParseCRL reads them. Like etcd, only the serials
// matter: the CRL's signature and dates are not checked.

/** The revoked serials, each as lowercase hex without leading zero bytes (see serialKey). */
export type RevokedSerials = ReadonlySet<string>;

const PEM_CRL = /-----BEGIN X509 CRL-----\r?\n([\s\S]*?)-----END X509 CRL-----/;

export class CrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrlError';
  }
}

/** Normalises a hex serial (Node's X509Certificate.serialNumber, say) to the key parseCrl uses. */
export function serialKey(hex: string): string {
  let s = hex.toLowerCase();
  if (s.length % 2 === 1) s = '0' + s;
  while (s.startsWith('00') && s.length > 2) s = s.slice(2);
  return s;
}

interface Tlv {
  tag: number;
  /** Content bounds. */
  start: number;
  end: number;
}

function readTlv(b: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new CrlError('x509: malformed crl');
  const tag = b[at];
  let len = b[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new CrlError('x509: malformed crl');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new CrlError('x509: malformed crl');
  return { tag, start, end };
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** The serials revoked by a CRL in PEM ("X509 CRL" block) or DER form. */
export function parseCrl(data: Uint8Array): RevokedSerials {
  let der = data;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (text.startsWith('-----BEGIN X509 CRL')) {
    const m = PEM_CRL.exec(text);
    if (m === null) throw new CrlError('x509: malformed crl');
    der = Buffer.from(m[1], 'base64');
  }
  const list = readTlv(der, 0, der.length);
  if (list.tag !== SEQUENCE) throw new CrlError('x509: malformed crl');
  const tbs = readTlv(der, list.start, list.end);
  if (tbs.tag !== SEQUENCE) throw new CrlError('x509: malformed crl');
  let at = tbs.start;
  let field = readTlv(der, at, tbs.end);
  if (field.tag === INTEGER) field = readTlv(der, (at = field.end), tbs.end); // version
  // signature algorithm, issuer, thisUpdate
  for (let i = 0; i < 2; i++) {
    if (field.tag !== SEQUENCE) throw new CrlError('x509: malformed crl');
    field = readTlv(der, (at = field.end), tbs.end);
  }
  if (field.tag !== UTC_TIME && field.tag !== GENERALIZED_TIME) throw new CrlError('x509: malformed crl');
  at = field.end;
  const revoked = new Set<string>();
  while (at < tbs.end) {
    field = readTlv(der, at, tbs.end);
    at = field.end;
    if (field.tag !== SEQUENCE) continue; // nextUpdate, extensions
    for (let e = field.start; e < field.end; ) {
      const entry = readTlv(der, e, field.end);
      e = entry.end;
      if (entry.tag !== SEQUENCE) throw new CrlError('x509: malformed crl');
      const serial = readTlv(der, entry.start, entry.end);
      if (serial.tag !== INTEGER) throw new CrlError('x509: malformed crl');
      revoked.add(serialKey(Buffer.from(der.subarray(serial.start, serial.end)).toString('hex')));
    }
  }
  return revoked;
}
