/** The file blob store: content addressing, streaming writes, ranges, holds and the recovery sweep. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { FileBlobStore } from './file-blob-store.js';
import { MemoryBlobStore } from './memory-blob-store.js';
import type { LocalBlobStore } from '../blob-store.js';
import { pop3SizeOf } from '../pop3-size.js';

const base = mkdtempSync(join(tmpdir(), 'mailstead-blobs-'));
after(() => rmSync(base, { recursive: true, force: true }));
let counter = 0;
const freshRoot = () => join(base, `root-${++counter}`);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}

/** Bytes whose value depends on their position, so a range shifted by one octet cannot pass. */
function patterned(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const [name, make] of [
  ['file', () => new FileBlobStore(freshRoot())],
  ['memory', () => new MemoryBlobStore()],
] as Array<[string, () => LocalBlobStore]>) {
  describe(`${name} blob store`, () => {
    it('hashes and counts while writing chunk by chunk, and reads back byte-exact', async () => {
      const store = make();
      const body = patterned(200_001);
      const writer = store.createWriter();
      for (let at = 0; at < body.length; at += 4096) await writer.write(body.subarray(at, at + 4096));
      assert.equal(writer.size, body.length);
      const staged = await writer.commit();
      assert.deepEqual(staged, { blobId: sha256(body), size: body.length, pop3Size: pop3SizeOf(body) });
      assert.deepEqual(await store.read(staged.blobId), body);
      assert.equal(await store.size(staged.blobId), body.length);
      assert.equal(await store.read(sha256(Buffer.from('never stored'))), null);
      assert.equal(await store.openRange(sha256(Buffer.from('never stored')), 0, 10), null);
    });

    it('reads exact ranges, at and across read-chunk boundaries, clamped to the size', async () => {
      const store = make();
      const chunk = 64 * 1024;
      const body = patterned(3 * chunk + 17);
      const { blobId } = await store.put(body);
      const ranges: Array<[number, number]> = [
        [0, body.length],
        [0, chunk],
        [chunk - 1, chunk + 1],
        [chunk, 2 * chunk],
        [chunk + 1, 3 * chunk - 1],
        [3 * chunk, body.length],
        [body.length - 1, body.length + 100],
        [5, 5],
        [body.length + 10, body.length + 20],
      ];
      for (const [start, end] of ranges) {
        const got = await drain((await store.openRange(blobId, start, end))!);
        assert.deepEqual(got, body.subarray(start, Math.min(end, body.length)), `range ${start}-${end}`);
      }
    });

    it('stores identical content once, also from writers running at the same time', async () => {
      const store = make();
      const body = patterned(100_000);
      const writers = Array.from({ length: 8 }, () => store.createWriter());
      // Interleave the writers chunk by chunk, then commit them all at once.
      for (let at = 0; at < body.length; at += 10_000) {
        await Promise.all(writers.map((w) => w.write(body.subarray(at, at + 10_000))));
      }
      const staged = await Promise.all(writers.map((w) => w.commit()));
      assert.ok(staged.every((s) => s.blobId === sha256(body) && s.size === body.length));
      assert.deepEqual(await store.read(sha256(body)), body);
      if (store instanceof FileBlobStore) {
        const finals = filesUnder(store.root).filter((f) => !f.startsWith('tmp'));
        assert.deepEqual(finals, [join(sha256(body).slice(0, 2), sha256(body).slice(2, 4), sha256(body))]);
      }
      for (const s of staged) await store.release(s);
      if (store instanceof FileBlobStore) assert.deepEqual(filesUnder(join(store.root, 'tmp')), []);
    });

    it('leaves nothing behind when a writer aborts', async () => {
      const store = make();
      const writer = store.createWriter();
      await writer.write(Buffer.from('half a message'));
      await writer.abort();
      await writer.abort();
      await assert.rejects(writer.write(Buffer.from('more')));
      assert.equal(await store.read(sha256(Buffer.from('half a message'))), null);
      if (store instanceof FileBlobStore) assert.deepEqual(filesUnder(store.root), []);
    });

    it('refuses to commit after a failed write, and leaves nothing', async () => {
      const store = make();
      const writer = store.createWriter();
      await writer.write(Buffer.from('first part'));
      // Observed at once: the failed write may reject before the commit does.
      const failed = assert.rejects(writer.write(42 as unknown as Buffer));
      await assert.rejects(writer.commit());
      await failed;
      assert.equal(await store.read(sha256(Buffer.from('first part'))), null);
      if (store instanceof FileBlobStore) assert.deepEqual(filesUnder(store.root), []);
    });

    it('keeps a held body from removal until it is released, and sweeps what nothing references', async () => {
      const store = make();
      const kept = await store.put(Buffer.from('kept'));
      const orphan = await store.put(Buffer.from('orphan'));
      const held = await store.put(Buffer.from('held'));
      await store.release(kept);
      await store.release(orphan);
      assert.equal(store.removeUnreferencedSync(held.blobId), false);
      assert.ok(store.hasSync(held.blobId));

      const seen: string[] = [];
      const removed = await store.sweep((ids, remove) => {
        seen.push(...ids);
        for (const id of ids) if (id !== kept.blobId) remove(id);
      });
      assert.equal(removed, 1);
      assert.deepEqual(seen.sort(), [kept.blobId, orphan.blobId, held.blobId].sort());
      assert.ok(store.hasSync(kept.blobId) && store.hasSync(held.blobId) && !store.hasSync(orphan.blobId));

      await store.release(held);
      assert.equal(store.removeUnreferencedSync(held.blobId), true);
      assert.equal(await store.read(held.blobId), null);
    });

    it('puts back a staged body whose name was removed before the append confirmed it', async () => {
      const store = make();
      const staged = await store.put(Buffer.from('raced'));
      if (store instanceof FileBlobStore) {
        // What a sweep in another process could do between our commit and our metadata transaction.
        rmSync(store.pathOf(staged.blobId)!);
        store.confirmSync(staged);
        assert.deepEqual(await store.read(staged.blobId), Buffer.from('raced'));
      } else {
        store.confirmSync(staged);
      }
      await store.release(staged);
    });
  });
}

describe('file blob store reads', () => {
  it('reads a range only as fast as it is consumed (backpressure)', async () => {
    const store = new FileBlobStore(freshRoot());
    const body = patterned(4 * 1024 * 1024);
    const { blobId } = await store.put(body);
    const stream = (await store.openRange(blobId, 1, body.length)) as Readable & { bytesRead: number };
    await once(stream, 'readable');
    // Let the file stream run as far as it wants while nobody reads: it stops at its buffer size.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(stream.bytesRead <= 2 * 64 * 1024, `read ahead ${stream.bytesRead} octets with no consumer`);
    assert.deepEqual(await drain(stream), body.subarray(1));
  });
});

describe('file blob store durability order', () => {
  /**
   * A commit links the body under its content address and syncs bytes and
   * name at once, so the name exists before the bytes are durable. A writer
   * (here or in another process: a second store on the same root) that finds
   * the name while the first writer's sync still runs must not trust it
   * unsynced: before its commit or put returns, the bytes under that name and
   * its directory must have been synced after the name appeared.
   */
  it('trusts a body found stored only once it and its directory are synced (its writer may still be syncing)', async () => {
    const root = freshRoot();
    let firstSyncCalled!: () => void;
    const firstSyncRunning = new Promise<void>((resolve) => (firstSyncCalled = resolve));
    let finishFirstSync!: () => void;
    const firstSyncMayFinish = new Promise<void>((resolve) => (finishFirstSync = resolve));
    const writerA = new FileBlobStore(root, {
      syncFile: async (handle) => {
        firstSyncCalled();
        await firstSyncMayFinish;
        await handle.sync();
      },
    });
    const synced: Array<{ ino: number; done: boolean }> = [];
    const dirSyncs: Array<{ dir: string; done: boolean }> = [];
    const other = new FileBlobStore(root, {
      syncFile: async (handle) => {
        const entry = { ino: (await handle.stat()).ino, done: false };
        synced.push(entry);
        await handle.sync();
        entry.done = true;
      },
      syncDir: async (dir) => {
        const entry = { dir, done: false };
        dirSyncs.push(entry);
        const { fsyncDir } = await import('./fs-sync.js');
        await fsyncDir(dir);
        entry.done = true;
      },
    });
    const body = Buffer.from('Subject: the same body\r\n\r\ndelivered twice at once\r\n');
    const a = writerA.createWriter();
    await a.write(body);
    const aCommitted = a.commit();
    await firstSyncRunning;
    const path = writerA.pathOf(sha256(body))!;

    const viaWriter = async () => {
      const w = other.createWriter();
      await w.write(body);
      return w.commit();
    };
    for (const [how, second] of [['writer', viaWriter], ['put', () => other.put(body)]] as const) {
      synced.length = 0;
      dirSyncs.length = 0;
      const staged = await second();
      const { ino } = statSync(path);
      assert.ok(synced.some((s) => s.ino === ino && s.done), `${how}: the bytes under the name were synced before it returned`);
      assert.ok(dirSyncs.some((d) => d.dir === join(path, '..') && d.done), `${how}: the name's directory was synced before it returned`);
      await other.release(staged);
    }
    finishFirstSync();
    await writerA.release(await aCommitted);
    assert.deepEqual(await writerA.read(sha256(body)), body);
  });
});

describe('file blob store recovery', () => {
  it('removes partial bodies and holds of dead writers, keeps those of live ones', async () => {
    const store = new FileBlobStore(freshRoot());
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const body = Buffer.from('body of a crashed writer');
    const { blobId } = await store.put(body);
    await store.release({ blobId, size: body.length });
    // A crash after the link: the dead writer's hold is a second name of the body; and a partial file.
    linkSync(store.pathOf(blobId)!, join(store.root, 'tmp', `${deadPid}-0000-aaaa`));
    writeFileSync(join(store.root, 'tmp', `${deadPid}-0000-bbbb`), 'partial');
    // Ours, in flight (this process's instance), and another live process's.
    const ours = store.createWriter();
    await ours.write(Buffer.from('in flight'));
    writeFileSync(join(store.root, 'tmp', `${process.ppid}-0000-cccc`), 'live writer');
    // Our pid, another instance, named after we started: kept (it cannot be from a process before us).
    writeFileSync(join(store.root, 'tmp', `${process.pid}-0000-dddd`), 'same pid, newer than us');
    assert.equal(statSync(store.pathOf(blobId)!).nlink, 2);

    const removed = await store.sweep((ids, remove) => ids.forEach(remove));
    assert.equal(removed, 1);
    assert.equal(existsSync(store.pathOf(blobId)!), false);
    const left = filesUnder(join(store.root, 'tmp'));
    assert.equal(left.length, 3);
    assert.ok(left.includes(`${process.ppid}-0000-cccc`) && left.includes(`${process.pid}-0000-dddd`));
    await ours.abort();
    assert.equal(filesUnder(join(store.root, 'tmp')).length, 2);
  });

  it('removes what a previous process with our pid left (a server restarted in a container)', async () => {
    const root = freshRoot();
    const before = new FileBlobStore(root);
    writeFileSync(join(root, 'tmp', `${process.pid}-0000-dddd`), 'left by a previous process with our pid');
    const staged = await before.put(Buffer.from('held by this instance'));
    // The same pid, started after that file was named.
    const restarted = new FileBlobStore(root, { startedAtMs: Date.now() + 60_000 });
    await restarted.sweep(() => {});
    assert.deepEqual(
      filesUnder(join(root, 'tmp')).map((f) => f.split('-').slice(0, 1).join()),
      [String(process.pid)],
      'only the hold of this instance is left',
    );
    await before.release(staged);
    assert.deepEqual(filesUnder(join(root, 'tmp')), []);
  });
});

describe('file blob store errors', () => {
  it('maps a full disk to STORE_FULL and other file failures to STORE_UNAVAILABLE, without paths', async () => {
    const { fileError } = await import('./file-blob-store.js');
    const { StoreError } = await import('../types.js');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write /var/lib/x'), { code: 'ENOSPC' });
    const quota = Object.assign(new Error('EDQUOT'), { code: 'EDQUOT' });
    const io = Object.assign(new Error('EIO: i/o error, open /var/lib/x'), { code: 'EIO' });
    for (const [err, code] of [[full, 'STORE_FULL'], [quota, 'STORE_FULL'], [io, 'STORE_UNAVAILABLE']] as const) {
      const mapped = fileError(err);
      assert.ok(mapped instanceof StoreError);
      assert.equal(mapped.code, code);
      assert.doesNotMatch(mapped.message, /\/var/);
    }
  });
});
