// HPACK (RFC 7541) for our lean HTTP/2 endpoints (the gRPC server and the load tool's client): a
// full decoder (static and dynamic table, Huffman), and an encoder of literal-never-indexed header
// blocks, which keeps the encoder stateless (fixed blocks such as gRPC's response headers are
// encoded once and reused for every call).

const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''],
  ['cache-control', ''], ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''],
  ['content-length', ''], ['content-location', ''], ['content-range', ''], ['content-type', ''],
  ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''],
  ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''],
  ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''],
  ['retry-after', ''], ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''],
  ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

// Code lengths of symbols 0..255 (RFC 7541 Appendix B); EOS (256) is 30 bits. The code is canonical,
// so the codes themselves follow from the lengths.
export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** Canonical Huffman codes for symbols 0..256 (256 = EOS), derived from HUFFMAN_LENGTHS. */
export const HUFFMAN_CODES: readonly number[] = (() => {
  const order = HUFFMAN_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  const codes = new Array<number>(HUFFMAN_LENGTHS.length).fill(0);
  let code = 0;
  let len = HUFFMAN_LENGTHS[order[0]!]!;
  for (const s of order) {
    const l = HUFFMAN_LENGTHS[s]!;
    code *= 2 ** (l - len); // multiplication: codes reach 30 bits, past the sign bit of << on 32-bit ints
    len = l;
    codes[s] = code;
    code++;
  }
  return codes;
})();

// Binary decoding tree: node n has children tree[2n] (bit 0) and tree[2n+1] (bit 1); a value < 0
// is a leaf holding ~symbol, 0 means "no child".
const TREE: Int32Array = (() => {
  const t = new Int32Array(2 * 2 * 257);
  let next = 1;
  for (let s = 0; s < HUFFMAN_LENGTHS.length; s++) {
    const len = HUFFMAN_LENGTHS[s]!;
    const code = HUFFMAN_CODES[s]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) t[slot] = ~s;
      else {
        if (t[slot] === 0) t[slot] = next++;
        node = t[slot]!;
      }
    }
  }
  return t;
})();

export class HpackError extends Error {}

/** Decodes a Huffman-coded string (RFC 7541 §5.2): padding must be < 8 bits of the EOS prefix. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  let out = '';
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const v = (b >> bit) & 1;
      const child = TREE[2 * node + v]!;
      depth++;
      allOnes &&= v === 1;
      if (child < 0) {
        const sym = ~child;
        if (sym === 256) throw new HpackError('hpack: EOS in Huffman string');
        out += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (child === 0) {
        throw new HpackError('hpack: invalid Huffman code');
      } else {
        node = child;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError('hpack: invalid Huffman padding');
  return out;
}

/** Encodes `s` (latin1) with the Huffman code; used by tests to produce what servers send. */
export function huffmanEncode(s: string): Uint8Array {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const len = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    for (let j = len - 1; j >= 0; j--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** j) & 1);
      if (++bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Uint8Array.from(bytes);
}

/** Appends an HPACK integer with an n-bit prefix whose high bits are `flags`. */
export function encodeInt(out: number[], flags: number, prefixBits: number, v: number): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(flags | v);
    return;
  }
  out.push(flags | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function pushString(out: number[], s: string): void {
  const b = Buffer.from(s, 'latin1');
  encodeInt(out, 0, 7, b.length);
  for (const x of b) out.push(x);
}

/**
 * Encodes headers as literals never indexed (§6.2.3), using a static-table name index where one
 * exists and an indexed field for exact static matches; no dynamic-table state is created.
 */
export function encodeHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      encodeInt(out, 0x80, 7, exact + 1);
      continue;
    }
    const byName = STATIC_TABLE.findIndex(([n]) => n === name);
    if (byName >= 0) encodeInt(out, 0x10, 4, byName + 1);
    else {
      out.push(0x10);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return Buffer.from(out);
}

/** One header field as decoded; values are latin1 strings as on the wire. */
export interface HeaderField {
  name: string;
  value: string;
}

/** The static table as field objects, so lookups allocate nothing. */
const STATIC_FIELDS: readonly HeaderField[] = STATIC_TABLE.map(([name, value]) => Object.freeze({ name, value }));
const EMPTY = new Uint8Array(0);

/** Stateful HPACK decoder for one connection (the dynamic table lives across header blocks). */
export class HpackDecoder {
  // Dynamic table, newest first.
  private dyn: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  /** `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE we advertised (the bound for size updates). */
  constructor(private readonly maxTableSize = 4096) {
    this.maxSize = maxTableSize;
  }

  // The block being decoded and the read position (fields, not closures: decode runs per request).
  private block: Uint8Array = EMPTY;
  private p = 0;

  /** Decodes one complete header block, calling `onField` for every field in order. */
  decode(block: Uint8Array, onField: (name: string, value: string) => void): void {
    this.block = block;
    this.p = 0;
    const n = block.length;
    try {
      while (this.p < n) {
        const b = block[this.p]!;
        if (b & 0x80) {
          const f = this.lookup(this.readInt(7));
          onField(f.name, f.value);
        } else if ((b & 0xc0) === 0x40) {
          const idx = this.readInt(6);
          const name = idx === 0 ? this.readString() : this.lookup(idx).name;
          const value = this.readString();
          this.insert(name, value);
          onField(name, value);
        } else if ((b & 0xe0) === 0x20) {
          const sz = this.readInt(5);
          if (sz > this.maxTableSize) throw new HpackError('hpack: table size update above the limit');
          this.maxSize = sz;
          this.evict(0);
        } else {
          // Literal without indexing (0000) or never indexed (0001): 4-bit prefix.
          const idx = this.readInt(4);
          const name = idx === 0 ? this.readString() : this.lookup(idx).name;
          onField(name, this.readString());
        }
      }
    } finally {
      this.block = EMPTY;
    }
  }

  private readInt(prefixBits: number): number {
    const block = this.block;
    const max = (1 << prefixBits) - 1;
    let v = block[this.p++]! & max;
    if (v < max) return v;
    let m = 1;
    for (;;) {
      if (this.p >= block.length) throw new HpackError('hpack: truncated integer');
      const b = block[this.p++]!;
      v += (b & 0x7f) * m;
      m *= 128;
      if ((b & 0x80) === 0) return v;
      if (m > 2 ** 28) throw new HpackError('hpack: integer overflow');
    }
  }

  private readString(): string {
    const block = this.block;
    if (this.p >= block.length) throw new HpackError('hpack: truncated string');
    const huff = (block[this.p]! & 0x80) !== 0;
    const len = this.readInt(7);
    const p = this.p;
    if (p + len > block.length) throw new HpackError('hpack: truncated string');
    this.p = p + len;
    if (huff) return huffmanDecode(block, p, p + len);
    // Buffer's toString reads the range in place; a plain Uint8Array needs a view first.
    return Buffer.isBuffer(block) ? block.toString('latin1', p, p + len) : Buffer.from(block.buffer, block.byteOffset + p, len).toString('latin1');
  }

  private lookup(idx: number): HeaderField {
    if (idx === 0) throw new HpackError('hpack: index 0');
    if (idx <= STATIC_FIELDS.length) return STATIC_FIELDS[idx - 1]!;
    const f = this.dyn[idx - STATIC_FIELDS.length - 1];
    if (!f) throw new HpackError(`hpack: invalid index ${idx}`);
    return f;
  }

  private insert(name: string, value: string): void {
    const sz = name.length + value.length + 32;
    this.evict(sz);
    if (sz <= this.maxSize) {
      this.dyn.unshift({ name, value });
      this.size += sz;
    }
  }

  // Evicts oldest entries until `room` more bytes fit (everything when room exceeds the table).
  private evict(room: number): void {
    while (this.dyn.length > 0 && this.size + room > this.maxSize) {
      const f = this.dyn.pop()!;
      this.size -= f.name.length + f.value.length + 32;
    }
  }

  /** Number of dynamic-table entries (for tests). */
  get dynamicLength(): number {
    return this.dyn.length;
  }
}
