// A reader and runner for datadriven test files (cockroachdb/datadriven v1.0.2 semantics, as
// specified in /work/shared/conformance/raft/README.md §1): directives with arguments, an input
// block, `----`, and the expected output; run in order, stopping a file at its first mismatch.
import * as fs from 'node:fs';

export interface CmdArg {
  key: string;
  vals: string[];
}

export interface TestCase {
  /** The file path as given to parseFile. */
  file: string;
  /** 1-based line number of the directive. */
  line: number;
  cmd: string;
  cmdArgs: CmdArg[];
  /** The input block, trimmed; '' if none. */
  input: string;
  /** The expected output: each line followed by '\n'; '' if none. */
  expected: string;
}

/** A malformed file or a misused directive: fatal for the file (Go's t.Fatalf). */
export class DataDrivenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDrivenError';
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parses a directive line into its command and arguments (README §1.3). */
export function parseLine(line: string): { cmd: string; cmdArgs: CmdArg[] } {
  const orig = line;
  const s = line.trim();
  const lead = line.length - line.trimStart().length;
  const fail = (pos: number): never => {
    throw new DataDrivenError(`cannot parse directive at column ${lead + pos + 1}: ${orig}`);
  };
  let i = s.indexOf(' ');
  const cmd = i < 0 ? s : s.slice(0, i);
  if (cmd === '') fail(0);
  const cmdArgs: CmdArg[] = [];
  if (i < 0) return { cmd, cmdArgs };
  const n = s.length;
  while (i < n) {
    while (i < n && s[i] === ' ') i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && s[i] !== ' ' && s[i] !== '=') i++;
    const key = s.slice(keyStart, i);
    if (key === '') fail(keyStart);
    if (i >= n || s[i] === ' ') {
      cmdArgs.push({ key, vals: [] });
      continue;
    }
    i++; // '='
    if (s[i] === '(') {
      // A parenthesized list: split at top-level commas, dropping spaces after each comma.
      const vals: string[] = [];
      let depth = 1;
      let cur = '';
      let j = i + 1;
      for (; j < n; j++) {
        const ch = s[j];
        if (ch === '(') depth++;
        else if (ch === ')') {
          depth--;
          if (depth === 0) break;
        } else if (ch === ',' && depth === 1) {
          vals.push(cur);
          cur = '';
          while (j + 1 < n && s[j + 1] === ' ') j++;
          continue;
        }
        cur += ch;
      }
      if (j >= n) fail(keyStart);
      vals.push(cur);
      i = j + 1;
      if (i < n && s[i] !== ' ') fail(keyStart);
      cmdArgs.push({ key, vals });
    } else {
      const valStart = i;
      while (i < n && s[i] !== ' ') i++;
      cmdArgs.push({ key, vals: [s.slice(valStart, i)] });
    }
  }
  return { cmd, cmdArgs };
}

export interface ParseResult {
  cases: TestCase[];
  /** A parse error that stops the file after `cases`. */
  error?: { line: number; message: string };
}

/** Parses datadriven text; a malformed directive ends the list and is reported in `error`. */
export function parseText(text: string, file: string): ParseResult {
  const lines = text.split('\n');
  // A final newline does not start another line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const cases: TestCase[] = [];
  let p = 0;
  while (p < lines.length) {
    let trimmed = lines[p].trim();
    p++;
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const line = p;
    // Line continuation.
    while (trimmed.endsWith('\\') && p < lines.length) {
      trimmed = trimmed.slice(0, -1) + ' ' + lines[p].trim();
      p++;
    }
    let parsed: { cmd: string; cmdArgs: CmdArg[] };
    try {
      parsed = parseLine(trimmed);
    } catch (e) {
      return { cases, error: { line, message: (e as Error).message } };
    }
    // Input block, up to the separator.
    const input: string[] = [];
    let separated = false;
    while (p < lines.length) {
      const l = lines[p++];
      if (l === '----') {
        separated = true;
        break;
      }
      input.push(l);
    }
    let expected = '';
    if (separated && p < lines.length) {
      if (lines[p] === '----') {
        // "Blank lines allowed" form: ends at two consecutive separators, then a blank line.
        p++;
        const out: string[] = [];
        while (p < lines.length) {
          if (lines[p] === '----' && lines[p + 1] === '----') {
            p += 2;
            if (p < lines.length && lines[p].trim() !== '') {
              return {
                cases,
                error: { line: p + 1, message: `expected a blank line after the closing separators` },
              };
            }
            break;
          }
          out.push(lines[p++]);
        }
        expected = out.map((l) => l + '\n').join('');
      } else {
        while (p < lines.length && lines[p].trim() !== '') expected += lines[p++] + '\n';
      }
    }
    cases.push({ file, line, cmd: parsed.cmd, cmdArgs: parsed.cmdArgs, input: input.join('\n').trim(), expected });
  }
  return { cases };
}

/** Reads and parses a file; throws DataDrivenError on a malformed directive. */
export function parseFile(path: string): TestCase[] {
  const res = parseText(fs.readFileSync(path, 'utf8'), path);
  if (res.error) throw new DataDrivenError(`${path}:${res.error.line}: ${res.error.message}`);
  return res.cases;
}

// ---------------------------------------------------------------------------------------------
// Typed values (Go strconv semantics)

// Go's strconv.Quote for the strings that show up in error texts.
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_INT64 = (1n << 63n) - 1n;

/** strconv.ParseUint(s, 10, 64), with Go's error texts. */
export function goParseUint(s: string): bigint | Error {
  if (!/^[0-9]+$/.test(s)) return new Error(`strconv.ParseUint: parsing ${quote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > MAX_UINT64) return new Error(`strconv.ParseUint: parsing ${quote(s)}: value out of range`);
  return v;
}

/** strconv.ParseInt(s, 10, 64), with Go's error texts. */
export function goParseInt(s: string): bigint | Error {
  if (!/^[+-]?[0-9]+$/.test(s)) return new Error(`strconv.ParseInt: parsing ${quote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > MAX_INT64 || v < -MAX_INT64 - 1n) {
    return new Error(`strconv.ParseInt: parsing ${quote(s)}: value out of range`);
  }
  return v;
}

/** strconv.ParseBool, with Go's error text. */
export function goParseBool(s: string): boolean | Error {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return new Error(`strconv.ParseBool: parsing ${quote(s)}: invalid syntax`);
  }
}

function orFatal<T>(v: T | Error, tc: TestCase | undefined, key: string): T {
  if (v instanceof Error) {
    const where = tc ? `${tc.file}:${tc.line}: ` : '';
    throw new DataDrivenError(`${where}${key}: ${v.message}`);
  }
  return v;
}

/** Value i of an argument as an unsigned 64-bit integer (bigint); fatal if malformed. */
export function argUintBig(arg: CmdArg, i = 0, tc?: TestCase): bigint {
  return orFatal(goParseUint(argVal(arg, i, tc)), tc, arg.key);
}

/** Value i of an argument as an unsigned integer (number); fatal if malformed. */
export function argUint(arg: CmdArg, i = 0, tc?: TestCase): number {
  return Number(argUintBig(arg, i, tc));
}

/** Value i of an argument as a signed integer (number); fatal if malformed. */
export function argInt(arg: CmdArg, i = 0, tc?: TestCase): number {
  return Number(orFatal(goParseInt(argVal(arg, i, tc)), tc, arg.key));
}

/** Value i of an argument as a bool (Go ParseBool); fatal if malformed. */
export function argBool(arg: CmdArg, i = 0, tc?: TestCase): boolean {
  return orFatal(goParseBool(argVal(arg, i, tc)), tc, arg.key);
}

/** Value i of an argument as a string; fatal if absent. */
export function argVal(arg: CmdArg, i = 0, tc?: TestCase): string {
  if (i >= arg.vals.length) {
    const where = tc ? `${tc.file}:${tc.line}: ` : '';
    throw new DataDrivenError(`${where}cannot scan index ${i} of key ${arg.key}`);
  }
  return arg.vals[i];
}

/** The first argument with this key, if any. */
export function findArg(tc: TestCase, key: string): CmdArg | undefined {
  return tc.cmdArgs.find((a) => a.key === key);
}

export function hasArg(tc: TestCase, key: string): boolean {
  return findArg(tc, key) !== undefined;
}

function requireArg(tc: TestCase, key: string): CmdArg {
  const a = findArg(tc, key);
  if (a === undefined) throw new DataDrivenError(`${tc.file}:${tc.line}: missing argument: ${key}`);
  return a;
}

/** Go's d.ScanArgs for one key (required) as uint, int, bool or string. */
export function scanArgUint(tc: TestCase, key: string, i = 0): number {
  return argUint(requireArg(tc, key), i, tc);
}
export function scanArgUintBig(tc: TestCase, key: string, i = 0): bigint {
  return argUintBig(requireArg(tc, key), i, tc);
}
export function scanArgInt(tc: TestCase, key: string, i = 0): number {
  return argInt(requireArg(tc, key), i, tc);
}
export function scanArgBool(tc: TestCase, key: string, i = 0): boolean {
  return argBool(requireArg(tc, key), i, tc);
}
export function scanArgString(tc: TestCase, key: string, i = 0): string {
  return argVal(requireArg(tc, key), i, tc);
}

// ---------------------------------------------------------------------------------------------
// Running

export interface FileResult {
  file: string;
  /** Directives in the file (a parse error counts as one more). */
  total: number;
  passed: number;
  /** total - passed: the failing directive and every one after it. */
  failed: number;
  failure?: {
    /** The failing directive; absent when the file could not be read or parsed up to it. */
    tc?: TestCase;
    line: number;
    /** 1-based position of the failing directive in the file. */
    index: number;
    actual: string;
    /** Expected vs actual (or the error), ready to print. */
    diff: string;
  };
}

/**
 * Runs every directive of a file through `handle`, comparing output byte for byte (README §1.4).
 * A thrown exception fails the directive like a mismatch. Stops at the first failure.
 */
export function runFile(path: string, handle: (tc: TestCase) => string): FileResult {
  let parsed: ParseResult;
  try {
    parsed = parseText(fs.readFileSync(path, 'utf8'), path);
  } catch (e) {
    const msg = (e as Error).message;
    return { file: path, total: 1, passed: 0, failed: 1, failure: { line: 0, index: 1, actual: '', diff: msg } };
  }
  const { cases, error } = parsed;
  const total = cases.length + (error ? 1 : 0);
  for (let k = 0; k < cases.length; k++) {
    const tc = cases[k];
    let actual: string;
    try {
      actual = handle(tc);
    } catch (e) {
      const err = e as Error;
      const msg = `error: ${err?.stack ?? String(e)}`;
      return {
        file: path,
        total,
        passed: k,
        failed: total - k,
        failure: { tc, line: tc.line, index: k + 1, actual: msg, diff: `expected:\n${tc.expected}\n${msg}` },
      };
    }
    if (actual !== '' && !actual.endsWith('\n')) actual += '\n';
    if (actual !== tc.expected) {
      return {
        file: path,
        total,
        passed: k,
        failed: total - k,
        failure: { tc, line: tc.line, index: k + 1, actual, diff: unifiedDiff(tc.expected, actual) },
      };
    }
  }
  if (error) {
    return {
      file: path,
      total,
      passed: cases.length,
      failed: 1,
      failure: { line: error.line, index: total, actual: '', diff: error.message },
    };
  }
  return { file: path, total, passed: total, failed: 0 };
}

/**
 * A line diff of expected vs actual with 5 lines of context (as Go's datadriven prints), marking
 * removed (expected-only) lines with '-' and added (actual-only) lines with '+'.
 */
export function unifiedDiff(expected: string, actual: string, context = 5): string {
  const a = splitLines(expected);
  const b = splitLines(actual);
  // Longest common subsequence table (outputs are at most a few hundred lines).
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Array<{ op: ' ' | '-' | '+'; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', text: a[i] });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ op: '-', text: a[i++] });
    } else {
      ops.push({ op: '+', text: b[j++] });
    }
  }
  // Keep changed lines and `context` lines around them.
  const keep = new Uint8Array(ops.length);
  ops.forEach((o, k) => {
    if (o.op === ' ') return;
    for (let c = Math.max(0, k - context); c <= Math.min(ops.length - 1, k + context); c++) keep[c] = 1;
  });
  let out = '--- expected\n+++ actual\n';
  let skipping = false;
  for (let k = 0; k < ops.length; k++) {
    if (!keep[k]) {
      if (!skipping) out += '@@ ... @@\n';
      skipping = true;
      continue;
    }
    skipping = false;
    out += ops[k].op + ops[k].text + '\n';
  }
  // Whitespace-only differences are invisible above; say so.
  if (expected.endsWith('\n') !== actual.endsWith('\n')) out += '(trailing newline differs)\n';
  return out;
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}
