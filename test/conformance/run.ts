// The conformance CLI (`npm run conformance`): runs every datadriven file of etcd-io/raft's
// quorum, confchange and interaction suites, prints PASS/FAIL per file with a diff for the first
// failing directive, and ends with `conformance: N passed, M failed` (exit code 1 on failures).
// Usage: node dist/test/conformance/run.js [substring ...]   (only files whose path contains one)
// The data folder is $TSETCD_CONFORMANCE_DIR, else ../shared/conformance/raft next to the repo, else
// the copy in test/conformance/data (so a lone clone runs the suite).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseText, runFile, type FileResult, type TestCase } from './datadriven.js';
import { makeHandler as quorumHandler } from './quorum.js';
import { makeHandler as confchangeHandler } from './confchange.js';

export type HandlerFactory = () => (tc: TestCase) => string;

export interface Suite {
  name: string;
  /** Folder of the suite's files, relative to the conformance directory. */
  dir: string;
  /** A fresh handler per file, or an explanation of why the suite cannot run. */
  factory: HandlerFactory | { missing: string };
}

/** The conformance data folder. */
export function conformanceDir(): string {
  const env = process.env.TSETCD_CONFORMANCE_DIR;
  if (env) return path.resolve(env);
  // This file runs from <repo>/dist/test/conformance/.
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const shared = path.resolve(repoRoot, '../shared/conformance/raft');
  return fs.existsSync(shared) ? shared : path.resolve(repoRoot, 'test/conformance/data');
}

// Skipped like datadriven.Walk does: hidden files, editor backups and autosaves.
function isSkipped(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || (name.startsWith('#') && name.endsWith('#'));
}

/** Every test file under `dir`, recursively, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (isSkipped(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Loads the interaction harness (written separately); reports why if it is not available. */
export async function loadInteractionFactory(): Promise<HandlerFactory | { missing: string }> {
  // A computed specifier, so this compiles before the harness exists.
  const spec = './interaction/env.js';
  try {
    const mod = (await import(spec)) as { newInteractionHandler?: HandlerFactory };
    if (typeof mod.newInteractionHandler !== 'function') {
      return { missing: 'interaction/env.js does not export newInteractionHandler' };
    }
    return mod.newInteractionHandler;
  } catch (e) {
    return { missing: `cannot load interaction harness: ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function suites(): Promise<Suite[]> {
  return [
    { name: 'quorum', dir: 'quorum/testdata', factory: quorumHandler },
    { name: 'confchange', dir: 'confchange/testdata', factory: confchangeHandler },
    { name: 'interaction', dir: 'testdata', factory: await loadInteractionFactory() },
  ];
}

/** Runs one file with a fresh handler; a suite that cannot run fails all its directives. */
export function runSuiteFile(suite: Suite, file: string): FileResult {
  const f = suite.factory;
  if (typeof f !== 'function') {
    let total = 1;
    let line = 0;
    try {
      const parsed = parseText(fs.readFileSync(file, 'utf8'), file);
      total = parsed.cases.length + (parsed.error ? 1 : 0);
      line = parsed.cases[0]?.line ?? parsed.error?.line ?? 0;
    } catch {
      // unreadable: counts as one failure
    }
    return { file, total, passed: 0, failed: total, failure: { line, index: 1, actual: '', diff: f.missing } };
  }
  let handle: (tc: TestCase) => string;
  try {
    handle = f();
  } catch (e) {
    return { file, total: 1, passed: 0, failed: 1, failure: { line: 0, index: 1, actual: '', diff: String(e) } };
  }
  return runFile(file, handle);
}

function indent(s: string): string {
  return s
    .split('\n')
    .filter((l, i, a) => !(i === a.length - 1 && l === ''))
    .map((l) => '    ' + l)
    .join('\n');
}

async function main(): Promise<number> {
  const root = conformanceDir();
  if (!fs.existsSync(root)) {
    process.stderr.write(`conformance data not found at ${root} (set TSETCD_CONFORMANCE_DIR)\n`);
    return 2;
  }
  const filters = process.argv.slice(2);
  let passed = 0;
  let failed = 0;
  for (const suite of await suites()) {
    for (const file of listFiles(path.join(root, suite.dir))) {
      const rel = path.relative(root, file);
      if (filters.length > 0 && !filters.some((f) => rel.includes(f))) continue;
      const r = runSuiteFile(suite, file);
      passed += r.passed;
      failed += r.failed;
      if (r.failure === undefined) {
        process.stdout.write(`PASS ${rel} (${r.total} directives)\n`);
      } else {
        const fl = r.failure;
        process.stdout.write(`FAIL ${rel}: directive ${fl.index} at line ${fl.line}\n`);
        if (fl.tc) {
          const args = fl.tc.cmdArgs.map((a) => (a.vals.length ? `${a.key}=(${a.vals.join(',')})` : a.key));
          process.stdout.write(`    ${[fl.tc.cmd, ...args].join(' ')}\n`);
        }
        process.stdout.write(indent(fl.diff) + '\n');
      }
    }
  }
  process.stdout.write(`conformance: ${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

// `node --test dist/test/` also executes every non-test .js file under test/ directories; the
// suite already runs through conformance.test.js, so stay inert there (NODE_TEST_CONTEXT is set).
const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.env.NODE_TEST_CONTEXT === undefined) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
