// Test helpers: a single-member EtcdServer in a fresh temp dir with fast raft timings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { defaultServerConfig, type ServerConfig } from '../../src/server/config.js';
import { EtcdServer } from '../../src/server/server.js';

export function tempDir(prefix = 'tsetcd-server-'): string {
  return fs.mkdtempSync(os.tmpdir() + '/' + prefix);
}

export function testConfig(dataDir: string, over: Partial<ServerConfig> = {}): ServerConfig {
  return defaultServerConfig({
    dataDir,
    name: 'default',
    initialCluster: new Map([['default', ['http://127.0.0.1:2380']]]),
    peerUrls: ['http://127.0.0.1:2380'],
    clientUrls: ['http://127.0.0.1:2379'],
    heartbeatMs: 10,
    electionMs: 100,
    requestTimeoutMs: 3000,
    ...over,
  });
}

export async function startServer(dataDir: string, over: Partial<ServerConfig> = {}): Promise<EtcdServer> {
  const s = await EtcdServer.create(testConfig(dataDir, over));
  s.start();
  await waitFor(() => s.isLeader(), 3000);
  return s;
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const b = (s: string): Buffer => Buffer.from(s);
