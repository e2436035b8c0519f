/**
 * Startup recovery of the SQLite store walks every body file only after an
 * unclean end (open-marks.ts): a store whose writers all closed in order
 * starts without the walk; one whose writer was killed (kill -9), one left
 * by a release before marks, and one with a mark of an earlier process that
 * had our pid walk once, remove the orphans, and start quietly afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/index.js';
import type { MailStore } from '../../src/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-open-marks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}.db`);
const marksDir = (path: string) => `${path}.open`;

async function withStore(path: string, fn: (store: MailStore) => Promise<void>, thread: 'worker' | 'main' = 'worker'): Promise<void> {
  const store = await openSqliteStore(path, { thread });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

/** A store with one message, started (recovered) as a server would and closed in order; returns its INBOX id. */
async function populated(path: string): Promise<number> {
  let inboxId = 0;
  await withStore(path, async (store) => {
    // A new marks directory stands for an unknown past: the first start walks (here over nothing).
    assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    const account = await store.createAccount('a@example.com', 'h', null);
    inboxId = (await store.createMailbox(account.id, 'INBOX')).id;
    await store.appendMessage(inboxId, { content: Buffer.from('Subject: kept\r\n\r\nkept\r\n') });
  });
  return inboxId;
}

/** A body file no message names: what only a walk over every body file finds. */
function plantOrphan(path: string): string {
  const file = join(`${path}.blobs`, 'de', 'ad', 'dead'.padEnd(64, '0'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, 'never committed');
  return file;
}

/** Appends through a child process, then SIGKILLs it: no close, no clean shutdown. */
async function appendAndKill(path: string, inboxId: number): Promise<void> {
  const script = fileURLToPath(new URL('./append-and-die.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), 'killed'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before appending`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

describe('startup recovery walks the bodies only after an unclean end', () => {
  it('does not walk a store whose writers all closed in order', async () => {
    const path = freshPath();
    const inboxId = await populated(path);
    const orphan = plantOrphan(path);
    await withStore(path, async (store) => {
      assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
      assert.equal(await store.getMessages(inboxId, [1]).then((m) => m.length), 1);
    });
    assert.ok(existsSync(orphan), 'no walk: the planted file was not looked at');
    assert.deepEqual(readdirSync(marksDir(path)), [], 'every mark released');
  });

  it('walks after a writer was killed, then starts quietly', async () => {
    const path = freshPath();
    const inboxId = await populated(path);
    await appendAndKill(path, inboxId);
    assert.equal(readdirSync(marksDir(path)).length, 1, "the killed writer's mark is left");
    const orphan = plantOrphan(path);
    await withStore(path, async (store) => {
      assert.deepEqual(await store.recover(), { orphanBlobs: 1, repairedReferenceCounts: 0 });
      assert.deepEqual((await store.listMessages(inboxId)).map((m) => m.uid), [1, 2], 'the acknowledged append is kept');
    });
    assert.equal(existsSync(orphan), false);
    assert.deepEqual(readdirSync(marksDir(path)), []);
    const again = plantOrphan(path);
    await withStore(path, async (store) => assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 }));
    assert.ok(existsSync(again), 'the next start after the walk is clean');
  });

  it('walks once a store left by a release before marks', async () => {
    const path = freshPath();
    await populated(path);
    rmSync(marksDir(path), { recursive: true }); // as the previous release left it: no marks at all
    const orphan = plantOrphan(path);
    await withStore(path, async (store) => assert.deepEqual(await store.recover(), { orphanBlobs: 1, repairedReferenceCounts: 0 }));
    assert.equal(existsSync(orphan), false);
    const again = plantOrphan(path);
    await withStore(path, async (store) => assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 }));
    assert.ok(existsSync(again));
  });

  it('takes a mark with our pid from an earlier start for a dead writer, and a live writer of this process for live', async () => {
    const path = freshPath();
    await populated(path);
    // Another writer of this very process (another thread) stays open: its mark is live, no walk.
    const other = await openSqliteStore(path, { thread: 'main' });
    try {
      const orphan = plantOrphan(path);
      await withStore(path, async (store) => assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 }));
      assert.ok(existsSync(orphan));
      // A process before us had our pid (a container restarted): it started long before us.
      writeFileSync(join(marksDir(path), `${process.pid}-0123456789ab`), '1000\n');
      await withStore(path, async (store) => assert.deepEqual(await store.recover(), { orphanBlobs: 1, repairedReferenceCounts: 0 }));
      assert.equal(existsSync(orphan), false);
      assert.equal(readdirSync(marksDir(path)).length, 1, "only the live writer's mark is left");
    } finally {
      await other.close();
    }
    assert.deepEqual(readdirSync(marksDir(path)), []);
  });
});
