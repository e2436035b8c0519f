/**
 * `--demo`: an embedded Mailstead on loopback, started through its public
 * entry point (startNode with a validated config), with a generated mailbox.
 * The server runs in this process, so client and server share one CPU core's
 * event loop: the figures show the protocols' shape, not a production server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../config/load.js';
import { type RunningNode, startNode } from '../../net/node.js';
import { silentLogger } from '../../observability/log.js';
import { demoMessage, prng } from './demo-mailbox.js';
import type { Target } from './target.js';

export interface Demo {
  node: RunningNode;
  address: string;
  password: string;
  certPem: string;
  imap: Target;
  pop3: Target;
  ports: Record<string, number>;
  /** Delivers one new message into the measured mailbox (for the resync figure). */
  addOneMessage(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startDemo(messages: number, onProgress: (done: number, total: number) => void): Promise<Demo> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mailstead-speedtest-demo-'));
  const address = 'demo@localhost';
  const config = validateConfig({
    dataDir,
    hostname: 'localhost',
    logLevel: 'silent',
    authFailureDelayMs: 10,
    initialAccount: address,
    listeners: { imap: '127.0.0.1:0', imaps: '127.0.0.1:0', pop3: '127.0.0.1:0', pop3s: '127.0.0.1:0', lmtp: 'off' },
  });
  let password = '';
  let node: RunningNode;
  try {
    node = await startNode(config, silentLogger(), {
      print(line) {
        const created = /^created account \S+ with password (\S+)$/.exec(line);
        if (created) password = created[1];
      },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ports = Object.fromEntries(node.listeners.map((l) => [l.protocol, l.port]));
  const rand = prng(2026);
  for (let i = 0; i < messages; i++) {
    await node.domain.deliver(address, demoMessage(i, rand, address).content);
    if ((i + 1) % 100 === 0 || i + 1 === messages) onProgress(i + 1, messages);
  }
  let extra = messages;
  const target = (protocol: 'imap' | 'pop3', port: number): Target => ({
    protocol,
    implicitTls: true,
    host: '127.0.0.1',
    port,
    user: address,
    url: `${protocol}s://${address}@127.0.0.1:${port}`,
  });
  return {
    node,
    address,
    password,
    certPem: readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8'),
    imap: target('imap', ports.imaps),
    pop3: target('pop3', ports.pop3s),
    ports,
    async addOneMessage() {
      await node.domain.deliver(address, demoMessage(extra++, rand, address).content);
      return true;
    },
    async stop() {
      await node.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
