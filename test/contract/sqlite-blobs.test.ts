/**
 * The SQLite store with its bodies in files: streamed (staged) appends,
 * ranged reads, bodies removed with their last reference, and a crash
 * between a durable body and its metadata commit leaving an orphan that
 * startup recovery removes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.js';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-sqlite-blobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}.db`);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bodyFile = (path: string, blobId: string) => join(`${path}.blobs`, blobId.slice(0, 2), blobId.slice(2, 4), blobId);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function withStore(path: string, fn: (store: MailStore) => Promise<void>): Promise<void> {
  const store = await openSqliteStore(path);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

describe('sqlite store bodies in files', () => {
  it('keeps no body in the database file and removes the file with the last reference', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const other = await store.createMailbox(account.id, 'Other');
      const content = Buffer.from('Subject: twice\r\n\r\nthe same bytes\r\n');
      const [a, b] = await store.appendMessages(inbox.id, [{ content }, { content }]);
      await store.copyMessages(inbox.id, [a.uid], other.id);
      const file = bodyFile(path, sha256(content));
      assert.ok(existsSync(file));
      const columns = new Database(path, { readonly: true }).prepare("SELECT name FROM pragma_table_info('blobs')").pluck().all();
      assert.deepEqual(columns, ['id', 'size', 'refcount']);

      await store.expungeMessages(inbox.id, [a.uid, b.uid]);
      assert.ok(existsSync(file), 'still named by the copy');
      await store.deleteMailbox(other.id);
      assert.equal(existsSync(file), false, 'gone with its last reference');
      assert.equal(await store.readBlob(sha256(content)), null);
    });
  });

  it('removes the file of a body whose last message a POP3 QUIT expunged', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = Buffer.from('Subject: popped\r\n\r\nread and deleted\r\n');
      const [m] = await store.appendMessages(inbox.id, [{ content }]);
      const file = bodyFile(path, sha256(content));
      assert.ok(existsSync(file));
      const [meta] = await store.getMessages(inbox.id, [m.uid]);
      await store.commitPop3Update({
        accountId: account.id, device: '', retrieved: [meta.uidl], deleted: [meta.uidl], at: new Date(),
        addFlags: [], expunge: [{ mailboxId: inbox.id, uids: [m.uid] }], move: [],
      });
      assert.equal(existsSync(file), false, 'gone with the UPDATE state that expunged it');
    });
  });

  it('appends a body streamed through a blob writer and reads it back by ranges', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = Buffer.alloc(300_000);
      for (let i = 0; i < content.length; i++) content[i] = (i * 13) & 0xff;
      const writer = store.createBlobWriter();
      for (let at = 0; at < content.length; at += 65_536) await writer.write(content.subarray(at, at + 65_536));
      const staged = await writer.commit();
      const [result] = await store.appendStaged(inbox.id, [{ staged, flags: ['\\Seen'] }]);
      await store.releaseStaged([staged]);
      const [meta] = await store.getMessages(inbox.id, [result.uid]);
      assert.equal(meta.size, content.length);
      assert.deepEqual(meta.flags, ['\\Seen']);
      assert.equal(await store.blobSize(meta.blobId), content.length);
      assert.deepEqual(await drain((await store.openBlobRange(meta.blobId, 65_535, 131_073))!), content.subarray(65_535, 131_073));
      assert.deepEqual(await store.readBlob(meta.blobId), content);
      assert.equal((await store.getAccountById(account.id))!.usedBytes, content.length);
      // The writer's hold is gone: nothing left in the temporary directory.
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
    });
  });

  it('removes a staged body that is refused (over quota) or given up', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', 10);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const big = await store.createBlobWriter();
      await big.write(Buffer.from('far more than ten octets'));
      const staged = await big.commit();
      await assert.rejects(store.appendStaged(inbox.id, [{ staged }]), (err: unknown) => (err as StoreError).code === 'STORE_OVER_QUOTA');
      await store.releaseStaged([staged]);
      assert.equal(existsSync(bodyFile(path, staged.blobId)), false);

      const unused = await store.createBlobWriter();
      await unused.write(Buffer.from('small'));
      const given = await unused.commit();
      await store.releaseStaged([given]);
      assert.equal(existsSync(bodyFile(path, given.blobId)), false);
      assert.deepEqual(await store.listMessages(inbox.id), []);
    });
  });

  it('leaves, after a crash between an expunge commit and the body removal, an orphan that recovery removes', async () => {
    const path = freshPath();
    const content = Buffer.from('Subject: expunged\r\n\r\nexpunged\r\n');
    let inboxId = 0;
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      inboxId = (await store.createMailbox(account.id, 'INBOX')).id;
      await store.appendMessage(inboxId, { content });
    });
    const script = fileURLToPath(new URL('./expunge-and-die.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), '1'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, MAILSTEAD_TEST_CRASH_AT: 'store.expunge.metadata-committed' },
    });
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL');
    assert.ok(existsSync(bodyFile(path, sha256(content))), 'the body outlived its committed expunge');
    await withStore(path, async (store) => {
      assert.deepEqual(await store.listMessages(inboxId), []);
      assert.deepEqual(await store.recover(), { orphanBlobs: 1, repairedReferenceCounts: 0 });
      assert.equal(existsSync(bodyFile(path, sha256(content))), false);
    });
  });

  for (const point of ['store.append.body-fsynced', 'store.append.body-written'] as const) {
    it(`leaves, after a crash at ${point}, nothing that startup recovery does not remove`, async () => {
      const path = freshPath();
      let inboxId = 0;
      await withStore(path, async (store) => {
        const account = await store.createAccount('a@example.com', 'h', null);
        inboxId = (await store.createMailbox(account.id, 'INBOX')).id;
      });
      const script = fileURLToPath(new URL('./append-and-die.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), 'lost'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, MAILSTEAD_TEST_CRASH_AT: point },
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      assert.equal(signal, 'SIGKILL');
      assert.equal(out, '', 'never acknowledged');

      const lost = Buffer.from('Subject: lost\r\n\r\nlost\r\n');
      if (point === 'store.append.body-fsynced') assert.ok(existsSync(bodyFile(path, sha256(lost))), 'the orphan body is on disk');
      assert.notDeepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), [], "the dead writer's file is left");
      await withStore(path, async (store) => {
        const report = await store.recover();
        assert.deepEqual(report, { orphanBlobs: point === 'store.append.body-fsynced' ? 1 : 0, repairedReferenceCounts: 0 });
        assert.equal(existsSync(bodyFile(path, sha256(lost))), false);
        assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
        assert.deepEqual(await store.listMessages(inboxId), []);
        assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
      });
    });
  }
});
