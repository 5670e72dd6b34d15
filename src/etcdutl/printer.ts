// Output of `snapshot status` in etcdutl's formats: simple (comma-separated), table (tablewriter
// with right-aligned cells), json, and fields.

import type { SnapshotStatus } from './status.js';

export const OUTPUT_FORMATS = ['simple', 'table', 'json', 'fields'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

/** go-humanize's Bytes: SI units, one decimal below 10, none from 10 on ("25 kB"). */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${units[e]}`;
}

/** olekukonko/tablewriter as etcdutl sets it up: upper-case centred header, right-aligned cells. */
export function renderTable(header: string[], rows: string[][]): string {
  const hdr = header.map((h) => h.toUpperCase());
  const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const center = (s: string, w: number) => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  let out = line;
  out += `|${hdr.map((h, i) => ` ${center(h, widths[i]!)} `).join('|')}|\n`;
  out += line;
  for (const r of rows) out += `|${widths.map((w, i) => ` ${(r[i] ?? '').padStart(w)} `).join('|')}|\n`;
  return out + line;
}

export function formatStatus(ds: SnapshotStatus, format: OutputFormat): string {
  const hex = (ds.hash >>> 0).toString(16);
  switch (format) {
    case 'simple':
      return `${hex}, ${ds.revision}, ${ds.totalKey}, ${humanizeBytes(ds.totalSize)}\n`;
    case 'table':
      return renderTable(
        ['hash', 'revision', 'total keys', 'total size'],
        [[hex, String(ds.revision), String(ds.totalKey), humanizeBytes(ds.totalSize)]],
      );
    case 'json':
      return `${JSON.stringify({ hash: ds.hash >>> 0, revision: ds.revision, totalKey: ds.totalKey, totalSize: ds.totalSize })}\n`;
    case 'fields':
      return `"Hash" : ${ds.hash >>> 0}\n"Revision" : ${ds.revision}\n"Keys" : ${ds.totalKey}\n"Size" : ${ds.totalSize}\n`;
  }
}
