// CRC-32C (Castagnoli), the checksum etcd uses for WAL records and snapshot files. Node has no
// built-in CRC32C, so this is a table-driven slicing-by-8 implementation: eight 256-entry tables let
// the main loop consume 8 bytes per iteration with independent lookups.
//
// `crc32c(data, prev)` has the semantics of Go's `crc32.Update(prev, castagnoliTable, data)`: the
// pre- and post-inversion happen inside, so a running checksum chains by passing the previous result
// (`crc32c(b, crc32c(a)) === crc32c(a ++ b)`), exactly as etcd chains record CRCs across a WAL.

const POLY = 0x82f63b78; // Castagnoli polynomial, reversed bit order

// T[k * 256 + b]: table k of the slicing-by-8 scheme (table 0 is the classic byte-wise table).
const T: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + i] = c;
    }
  }
  return t;
})();

/**
 * Updates the CRC-32C `prev` with `data[start, end)` and returns the new checksum (unsigned).
 * With `prev = 0` it is the plain CRC-32C of the range.
 */
export function crc32c(data: Uint8Array, prev = 0, start = 0, end = data.length): number {
  let crc = ~prev;
  let i = start;
  // Byte-wise until 8 bytes or fewer remain for the unrolled loop; alignment does not matter for
  // Uint8Array reads, so no head loop is needed.
  const stop8 = end - 8;
  while (i <= stop8) {
    const lo = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      T[0x700 + (lo & 0xff)]! ^
      T[0x600 + ((lo >>> 8) & 0xff)]! ^
      T[0x500 + ((lo >>> 16) & 0xff)]! ^
      T[0x400 + (lo >>> 24)]! ^
      T[0x300 + data[i + 4]!]! ^
      T[0x200 + data[i + 5]!]! ^
      T[0x100 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
    i += 8;
  }
  while (i < end) crc = T[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
