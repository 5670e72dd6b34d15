// Argument helpers for interaction directives: node IDs and typed values with Go's strconv
// semantics. Misuse is test-fatal (a DataDrivenError, Go's t.Fatal), never an output line.
import { DataDrivenError, goParseBool, goParseInt, goParseUint } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';

function orFatal<T>(v: T | Error): T {
  if (v instanceof Error) throw new DataDrivenError(v.message);
  return v;
}

export const scanUint = (s: string): bigint => orFatal(goParseUint(s));
export const scanInt = (s: string): number => Number(orFatal(goParseInt(s)));
export const scanBool = (s: string): boolean => orFatal(goParseBool(s));
/** A uint64 that fits a JS number (indexes, sizes). */
export const scanIndex = (s: string): number => Number(scanUint(s));

/** The first argument as a 1-based node ID, returned as a 0-based node index. */
export function firstAsNodeIdx(args: CmdArg[]): number {
  if (args.length === 0) throw new DataDrivenError('missing node id argument');
  return scanInt(args[0].key) - 1;
}

/** Every bare (value-less) argument as a 0-based node index, in order. */
export function nodeIdxs(args: CmdArg[]): number[] {
  const out: number[] = [];
  for (const a of args) if (a.vals.length === 0) out.push(scanInt(a.key) - 1);
  return out;
}

/** The single value of argument `key` (Go's ScanArgs); fatal when missing. */
export function argVal(args: CmdArg[], key: string): string {
  for (const a of args) {
    if (a.key !== key) continue;
    if (a.vals.length !== 1) throw new DataDrivenError(`${key}: expected one value, got ${a.vals.length}`);
    return a.vals[0];
  }
  throw new DataDrivenError(`missing argument: ${key}`);
}

/** Go's %q of an ASCII string, for the harness's own error texts. */
export function goQuoteString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + s[i];
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out + '"';
}
