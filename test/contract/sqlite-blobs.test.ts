/**
 * The SQLite store with its bodies in files: streamed (staged) appends,
 * ranged reads, bodies removed with their last reference, and a crash
 * between a durable body and its metadata commit leaving an orphan that
 * startup recovery removes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.js';
import { WorkerSqliteStore } from '../../src/store/sqlite/worker-store.js';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-sqlite-blobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}.db`);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Small bodies ride in their commit and reach their file after the release, in the background: wait for it. */
const settled = (store: MailStore) => (store instanceof WorkerSqliteStore ? store.settled() : Promise.resolve());
/** Ids of the bodies whose bytes are committed in the database, not yet moved to their files. */
const pendingRows = (path: string): string[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT id FROM pending_bodies ORDER BY id').pluck().all() as string[];
  } finally {
    db.close();
  }
};
const bodyFile = (path: string, blobId: string) => join(`${path}.blobs`, blobId.slice(0, 2), blobId.slice(2, 4), blobId);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A new store file with one account and its INBOX, closed again. */
async function storeWithInbox(): Promise<{ path: string; inboxId: number }> {
  const path = freshPath();
  let inboxId = 0;
  await withStore(path, async (store) => {
    const account = await store.createAccount('a@example.com', 'h', null);
    inboxId = (await store.createMailbox(account.id, 'INBOX')).id;
  });
  return { path, inboxId };
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
      await settled(store);
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
      await settled(store);
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

  it('removes a released body with its last reference, whether the expunge comes before or after the release', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const stage = async (text: string) => {
        const writer = store.createBlobWriter();
        await writer.write(Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`));
        const staged = await writer.commit();
        const [result] = await store.appendStaged(inbox.id, [{ staged }]);
        return { staged, uid: result.uid };
      };
      // Expunged while the delivery still holds its body: kept for the holder, removed by its release.
      const early = await stage('expunged first');
      await store.expungeMessages(inbox.id, [early.uid]);
      await store.releaseStaged([early.staged]);
      await settled(store);
      assert.equal(existsSync(bodyFile(path, early.staged.blobId)), false, 'removed by the release');
      // Released while named (nothing to remove), then expunged: the expunge removes it.
      const late = await stage('released first');
      await store.releaseStaged([late.staged]);
      await settled(store);
      assert.ok(existsSync(bodyFile(path, late.staged.blobId)), 'still named');
      await store.expungeMessages(inbox.id, [late.uid]);
      assert.equal(existsSync(bodyFile(path, late.staged.blobId)), false, 'removed by the expunge');
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
    });
  });

  it('commits a small body with its message and moves it to its file after the release', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = Buffer.from('Subject: small\r\n\r\nrides in the commit\r\n');
      const writer = store.createBlobWriter();
      await writer.write(content);
      const staged = await writer.commit();
      assert.ok(staged.pending, 'a small body is handed on pending');
      assert.equal(existsSync(bodyFile(path, staged.blobId)), false, 'no file before the commit');
      const [result] = await store.appendStaged(inbox.id, [{ staged }]);
      assert.deepEqual(pendingRows(path), [staged.blobId], 'its bytes are committed with the message');
      const [meta] = await store.getMessages(inbox.id, [result.uid]);
      assert.deepEqual(await store.readBlob(meta.blobId), content);
      assert.deepEqual(await drain((await store.openBlobRange(meta.blobId, 9, 14))!), content.subarray(9, 14));
      assert.equal(await store.blobSize(meta.blobId), content.length);
      await store.releaseStaged([staged]);
      await settled(store);
      assert.deepEqual(readFileSync(bodyFile(path, staged.blobId)), content, 'moved to its file');
      assert.deepEqual(pendingRows(path), [], 'and its committed bytes dropped');
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
      assert.deepEqual(await store.readBlob(meta.blobId), content);
    });
  });

  it('stores a small body once when two deliveries of it commit before either is moved', async () => {
    const path = freshPath();
    await withStore(path, async (store) => {
      const account = await store.createAccount('a@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = Buffer.from('Subject: twice\r\n\r\nsame bytes, two LMTP sessions\r\n');
      const staged = [];
      for (let i = 0; i < 2; i++) {
        const writer = store.createBlobWriter();
        await writer.write(content);
        staged.push(await writer.commit());
      }
      await store.appendStaged(inbox.id, [{ staged: staged[0] }]);
      await store.appendStaged(inbox.id, [{ staged: staged[1] }]);
      assert.deepEqual(pendingRows(path), [sha256(content)], 'one copy of the bytes');
      await store.releaseStaged([staged[0]]);
      await store.releaseStaged([staged[1]]);
      await settled(store);
      assert.deepEqual(readFileSync(bodyFile(path, sha256(content))), content);
      assert.deepEqual(pendingRows(path), []);
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
      const messages = await store.listMessages(inbox.id);
      assert.equal(messages.length, 2);
      for (const m of messages) assert.deepEqual(await store.readBlob(m.blobId), content);
    });
  });

  /** A child appends small bodies and is killed before releasing them: acknowledged, their moves never started. */
  async function appendStagedAndDie(path: string, inboxId: number, texts: string[]): Promise<Array<{ uid: number }>> {
    const script = fileURLToPath(new URL('./append-staged-and-die.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), ...texts], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const lines = new Promise<string[]>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const done = out.split('\n').slice(0, -1);
        if (done.length === texts.length) resolve(done);
      });
      child.on('exit', () => reject(new Error(`child exited before acknowledging: ${out}`)));
    });
    const acked = (await lines).map((line) => JSON.parse(line) as { uid: number; pending: boolean });
    assert.ok(acked.every((a) => a.pending), 'the child committed the bytes with the messages');
    const exited = new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    return acked;
  }

  it('keeps acknowledged small bodies killed before their move: readable from the commit, settled by a later delivery or by recovery', async () => {
    const { path, inboxId } = await storeWithInbox();
    const shared = Buffer.from('Subject: shared\r\n\r\nshared\r\n');
    const torn = Buffer.from('Subject: torn\r\n\r\ntorn\r\n');
    const acked = await appendStagedAndDie(path, inboxId, ['shared', 'torn']);
    assert.deepEqual(acked.map((a) => a.uid), [1, 2]);
    assert.equal(existsSync(bodyFile(path, sha256(shared))), false, 'not in its file');
    assert.deepEqual(pendingRows(path), [sha256(shared), sha256(torn)].sort());
    // What a power cut can leave of a name linked before its bytes were synced: the name, not the bytes.
    const tornFile = bodyFile(path, sha256(torn));
    mkdirSync(join(tornFile, '..'), { recursive: true });
    writeFileSync(tornFile, Buffer.alloc(torn.length));
    await withStore(path, async (store) => {
      // Another process (a server beside `deliver`) reads them before any recovery.
      const [meta] = await store.getMessages(inboxId, [1]);
      assert.deepEqual(await store.readBlob(meta.blobId), shared);
      assert.deepEqual(await drain((await store.openBlobRange(meta.blobId, 0, 7))!), shared.subarray(0, 7));
      assert.equal(await store.blobSize(meta.blobId), shared.length);
      // Delivering the same bytes again: the move of our copy settles the dead process's committed bytes.
      const [again] = await store.appendMessages(inboxId, [{ content: shared }]);
      await settled(store);
      assert.deepEqual(readFileSync(bodyFile(path, sha256(shared))), shared);
      assert.deepEqual(pendingRows(path), [sha256(torn)]);
      assert.equal((await store.getMessages(inboxId, [again.uid]))[0].blobId, meta.blobId);
      // Recovery writes the other from its committed bytes over the torn file.
      await store.recover();
      assert.deepEqual(readFileSync(tornFile), torn);
      assert.deepEqual(pendingRows(path), []);
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), [], 'the dead writer\'s temporary files are gone');
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

  // A small body rides in its commit (pending): at body-fsynced it is only a temporary file; a large one is a synced file.
  for (const [size, pad] of [['small', 0], ['large', 200 * 1024]] as const) {
    for (const point of size === 'small' ? (['store.append.body-fsynced', 'store.append.body-written'] as const) : (['store.append.body-fsynced'] as const)) {
      it(`leaves, after a crash at ${point} (${size} body), nothing that startup recovery does not remove`, async () => {
        const { path, inboxId } = await storeWithInbox();
        const script = fileURLToPath(new URL('./append-and-die.ts', import.meta.url));
        const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), 'lost', String(pad)], {
          stdio: ['ignore', 'pipe', 'ignore'],
          env: { ...process.env, MAILSTEAD_TEST_CRASH_AT: point },
        });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
        assert.equal(signal, 'SIGKILL');
        assert.equal(out, '', 'never acknowledged');

        const lost = Buffer.from(`Subject: lost\r\n\r\nlost\r\n${'x'.repeat(pad)}`);
        const orphanFile = point === 'store.append.body-fsynced' && size === 'large';
        assert.equal(existsSync(bodyFile(path, sha256(lost))), orphanFile, 'an orphan body file only from a large body synced');
        assert.notDeepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), [], "the dead writer's file is left");
        assert.deepEqual(pendingRows(path), [], 'nothing committed');
        await withStore(path, async (store) => {
          const report = await store.recover();
          assert.deepEqual(report, { orphanBlobs: orphanFile ? 1 : 0, repairedReferenceCounts: 0 });
          assert.equal(existsSync(bodyFile(path, sha256(lost))), false);
          assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), []);
          assert.deepEqual(await store.listMessages(inboxId), []);
          assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
        });
      });
    }
  }

  it('keeps a small body committed at store.append.metadata-committed (killed before the reply), moved by recovery', async () => {
    const { path, inboxId } = await storeWithInbox();
    const script = fileURLToPath(new URL('./append-and-die.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inboxId), 'committed'], {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, MAILSTEAD_TEST_CRASH_AT: 'store.append.metadata-committed' },
    });
    assert.equal(await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig))), 'SIGKILL');
    const content = Buffer.from('Subject: committed\r\n\r\ncommitted\r\n');
    assert.deepEqual(pendingRows(path), [sha256(content)], 'committed with its message, never moved');
    await withStore(path, async (store) => {
      await store.recover();
      const [meta] = await store.listMessages(inboxId);
      assert.deepEqual(await store.readBlob(meta.blobId), content);
      assert.deepEqual(readFileSync(bodyFile(path, meta.blobId)), content);
      assert.deepEqual(pendingRows(path), []);
    });
  });
});
