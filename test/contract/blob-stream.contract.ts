/**
 * Bodies through the blob store, for every MailStore backend: staged appends
 * from a streaming writer, byte ranges, identical content from concurrent
 * writers, and bodies that go with their last reference.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { MailStore, StagedBlob } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';
import { pop3SizeOf } from '../../src/store/pop3-size.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A message of `length` octets whose bytes depend on their position. */
function message(seed: string, length: number): Buffer {
  const head = Buffer.from(`Subject: ${seed}\r\n\r\n`);
  const bytes = Buffer.alloc(Math.max(length, head.length));
  head.copy(bytes);
  for (let i = head.length; i < bytes.length; i++) bytes[i] = 0x20 + ((i * 7 + (i >> 10)) % 90);
  return bytes;
}

async function stage(store: MailStore, content: Buffer, chunk = 10_000): Promise<StagedBlob> {
  const writer = store.createBlobWriter();
  for (let at = 0; at < content.length; at += chunk) await writer.write(content.subarray(at, at + chunk));
  return writer.commit();
}

export function runBlobStreamContract(name: string, newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`${name}: bodies through the blob store`, () => {
    it('appends a streamed body and reads exact ranges of it, at and across 64 KiB boundaries', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = message('streamed', 3 * 65_536 + 11);
      const staged = await stage(store, content, 4_321);
      // The POP3 size is counted as the chunks went by, whatever their boundaries.
      assert.deepEqual(staged, { blobId: sha256(content), size: content.length, pop3Size: pop3SizeOf(content) });
      const [result] = await store.appendStaged(inbox.id, [{ staged, flags: ['\\Flagged'], uidl: 'kept-uidl' }]);
      await store.releaseStaged([staged]);
      const [meta] = await store.getMessages(inbox.id, [result.uid]);
      assert.equal(meta.size, content.length);
      assert.equal(meta.pop3Size, pop3SizeOf(content));
      assert.equal(meta.blobId, sha256(content));
      assert.equal(meta.uidl, 'kept-uidl');
      assert.deepEqual(meta.flags, ['\\Flagged']);
      assert.equal(await store.blobSize(meta.blobId), content.length);
      assert.deepEqual(await store.readBlob(meta.blobId), content);
      const k = 65_536;
      for (const [start, end] of [[0, 1], [k - 1, k], [k - 1, k + 1], [k, 2 * k], [2 * k - 3, 3 * k + 3], [3 * k, 10 * k], [0, content.length], [7, 7]]) {
        const stream = await store.openBlobRange(meta.blobId, start, end);
        assert.ok(stream);
        assert.deepEqual(await drain(stream), content.subarray(start, Math.min(end, content.length)), `range ${start}-${end}`);
      }
      assert.equal(await store.openBlobRange(sha256(Buffer.from('absent')), 0, 10), null);
      assert.equal(await store.blobSize(sha256(Buffer.from('absent'))), null);
    }));

    it('stores identical content from concurrent writers once, and keeps it until its last message goes', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = message('same', 200_000);
      const staged = await Promise.all(Array.from({ length: 8 }, () => stage(store, content)));
      const results = (await Promise.all(staged.map((s) => store.appendStaged(inbox.id, [{ staged: s }])))).flat();
      await store.releaseStaged(staged);
      assert.equal(new Set(results.map((r) => r.uid)).size, 8);
      const metas = await store.listMessages(inbox.id);
      assert.ok(metas.every((m) => m.blobId === sha256(content)));
      assert.equal((await store.getAccountById(account.id))!.usedBytes, 8 * content.length);
      await store.expungeMessages(inbox.id, metas.slice(0, 7).map((m) => m.uid));
      assert.deepEqual(await store.readBlob(sha256(content)), content);
      await store.expungeMessages(inbox.id, [metas[7].uid]);
      assert.equal(await store.readBlob(sha256(content)), null);
      assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    }));

    it('stores several staged bodies all or none, and removes refused and discarded ones', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', 1_000);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const small = message('small', 400);
      const large = message('large', 700);
      const both = [await stage(store, small), await stage(store, large)];
      await assert.rejects(
        store.appendStaged(inbox.id, both.map((staged) => ({ staged }))),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_OVER_QUOTA',
      );
      assert.deepEqual(await store.listMessages(inbox.id), []);
      // Still held by the caller (it may try another mailbox) until released.
      assert.deepEqual(await store.readBlob(sha256(small)), small);
      await store.releaseStaged(both);
      assert.equal(await store.readBlob(sha256(small)), null);
      assert.equal(await store.readBlob(sha256(large)), null);

      const kept = await store.appendMessage(inbox.id, { content: small });
      // A staged copy of a body a message already names: discarding it leaves the message's body alone.
      await store.releaseStaged([await stage(store, small), await stage(store, message('unused', 100))]);
      const [meta] = await store.getMessages(inbox.id, [kept.uid]);
      assert.deepEqual(await store.readBlob(meta.blobId), small);
      assert.equal(await store.readBlob(sha256(message('unused', 100))), null);
      assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    }));

    it('appends one staged body to the mailboxes of several recipients', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const inboxes = [await store.createMailbox(alice.id, 'INBOX'), await store.createMailbox(bob.id, 'INBOX')];
      const content = message('to both', 5_000);
      const staged = await stage(store, content);
      // The first recipient's message goes before the second is stored: the held body must survive it.
      await store.appendStaged(inboxes[0].id, [{ staged }]);
      await store.expungeMessages(inboxes[0].id, [1]);
      await store.appendStaged(inboxes[1].id, [{ staged }]);
      await store.releaseStaged([staged]);
      const [meta] = await store.listMessages(inboxes[1].id);
      assert.deepEqual(await store.readBlob(meta.blobId), content);
      assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    }));

    it('gives up an aborted writer without a trace', withStore(async (store) => {
      const writer = store.createBlobWriter();
      await writer.write(Buffer.from('half'));
      await writer.abort();
      assert.equal(await store.readBlob(sha256(Buffer.from('half'))), null);
      assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    }));
  });
}
