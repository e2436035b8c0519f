/**
 * The PostgreSQL backend: the shared contract, each test on a fresh schema
 * of this run's database; then the races again with several store
 * instances on one schema, as several nodes run them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { migratePostgresStore, openPostgresStore, PG_SCHEMA_VERSION, type PgMailStore } from '../../src/store/postgres/index.js';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';
import { startPostgres } from '../helpers/postgres.js';
import { runMailStoreContract } from './mail-store.contract.js';

const server = await startPostgres();
after(() => server.stop());

runMailStoreContract('postgres', async () => openPostgresStore(server.url, { schema: await server.newSchema() }));

describe('postgres: several nodes on one database', () => {
  /** `n` store instances (separate pools) on one fresh schema; all closed afterwards. */
  const withNodes = (n: number, fn: (nodes: MailStore[]) => Promise<void>) => async () => {
    const schema = await server.newSchema();
    const nodes = await Promise.all(Array.from({ length: n }, () => openPostgresStore(server.url, { schema, maxConnections: 8 })));
    try {
      await fn(nodes);
    } finally {
      await Promise.all(nodes.map((s) => s.close()));
    }
  };
  const mail = (i: number) => Buffer.from(`Subject: message ${String(i).padStart(4, '0')}\r\n\r\nbody\r\n`);

  it('migrates once when nodes start at the same time, and gives concurrent appends from every node unique ascending UIDs', withNodes(3, async (nodes) => {
    const account = await nodes[0].createAccount('alice@example.com', 'h', null);
    const inbox = await nodes[1].createMailbox(account.id, 'INBOX');
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => nodes[i % 3].appendMessage(inbox.id, { content: mail(i) })));
    const uids = results.map((r) => r.uid).sort((a, b) => a - b);
    assert.deepEqual(uids, Array.from({ length: 30 }, (_, i) => i + 1));
    const byUid = [...results].sort((a, b) => a.uid - b.uid);
    for (let i = 1; i < byUid.length; i++) assert.ok(byUid[i].modSeq > byUid[i - 1].modSeq);
    for (const node of nodes) {
      const mailbox = (await node.getMailboxById(inbox.id))!;
      assert.equal(mailbox.uidNext, 31);
      assert.equal(mailbox.messageCount, 30);
    }
  }));

  it('gives each new message \\Recent in exactly one session when sessions on every node claim it at once', withNodes(3, async (nodes) => {
    const account = await nodes[0].createAccount('alice@example.com', 'h', null);
    const inbox = await nodes[0].createMailbox(account.id, 'INBOX');
    for (let i = 0; i < 5; i++) await nodes[i % 3].appendMessage(inbox.id, { content: mail(i) });
    // Sessions claim up to the last UID they have seen; each gets the UIDs from what it is returned.
    const seen = [3, 6, 4, 6, 2, 5];
    const before = await Promise.all(seen.map((upTo, i) => nodes[i % 3].claimRecent(inbox.id, upTo)));
    const claimed = new Map<number, number>();
    // Replay in the store's order (the values returned ascend with it): each UID has one owner.
    const order = seen.map((upTo, i) => ({ upTo, from: before[i]! })).sort((a, b) => a.from - b.from || a.upTo - b.upTo);
    for (const { upTo, from } of order) for (let uid = from; uid < upTo; uid++) claimed.set(uid, (claimed.get(uid) ?? 0) + 1);
    assert.deepEqual([...claimed.entries()].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
    assert.equal(await nodes[1].countRecent(inbox.id), 0);
  }));

  it('keeps the quota exact when nodes deliver into different mailboxes at once', withNodes(3, async (nodes) => {
    const size = mail(0).length;
    const account = await nodes[0].createAccount('alice@example.com', 'h', size * 4);
    const boxes = await Promise.all(['INBOX', 'A', 'B', 'C'].map((name) => nodes[0].createMailbox(account.id, name)));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => nodes[i % 3].appendMessage(boxes[i % 4].id, { content: mail(i) })),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(refused.length, 12);
    for (const o of refused) {
      const reason = (o as PromiseRejectedResult).reason as unknown;
      assert.ok(reason instanceof StoreError && reason.code === 'STORE_OVER_QUOTA');
    }
    assert.equal((await nodes[2].getAccountById(account.id))!.usedBytes, size * 4);
    let stored = 0;
    for (const box of boxes) stored += (await nodes[1].listMessages(box.id)).length;
    assert.equal(stored, 4);
  }));

  it('keeps a body another node still holds when recover() runs', withNodes(2, async ([a, b]) => {
    const writer = a.createBlobWriter();
    await writer.write(mail(1));
    const staged = await writer.commit();
    assert.deepEqual(await b.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    assert.deepEqual(await a.readBlob(staged.blobId), mail(1));
    await a.releaseStaged([staged]);
    assert.equal(await b.readBlob(staged.blobId), null);
  }));

  it('removes, on recover() by any node, what a dead node left: partial bodies and bodies it held', withNodes(2, async ([a, b]) => {
    const pgA = a as PgMailStore;
    const partial = a.createBlobWriter();
    await partial.write(Buffer.alloc(300 * 1024, 0x41)); // past one chunk: rows are written
    const held = a.createBlobWriter();
    await held.write(mail(2));
    const staged = await held.commit();
    const live = b.createBlobWriter();
    await live.write(Buffer.alloc(300 * 1024, 0x42));
    const count = async () => (await pgA.db.query<{ n: number }>('SELECT count(*)::int AS n FROM blob_chunks')).rows[0].n;
    assert.equal(await count(), 3);
    // Node A stops answering (as if killed): its heartbeat ages past the limit.
    await pgA.db.query("UPDATE store_nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [pgA.nodeId]);
    assert.deepEqual(await b.recover(), { orphanBlobs: 1, repairedReferenceCounts: 0 });
    assert.equal(await b.readBlob(staged.blobId), null);
    assert.equal(await count(), 1, "only the live node's partial body is left");
    await live.abort();
    assert.equal(await count(), 0);
  }));

  it('refuses to open a schema newer than it knows, naming what to do', async () => {
    const schema = await server.newSchema();
    const store = await openPostgresStore(server.url, { schema });
    await store.db.query('INSERT INTO schema_version (version, description) VALUES (9999, $1)', ['from the future']);
    await store.close();
    await assert.rejects(openPostgresStore(server.url, { schema }), /newer than this Mailstead knows/);
  });

  it('migrates with `store migrate` once, and a node that must not migrate says which command to run', async () => {
    const schema = await server.newSchema();
    await assert.rejects(openPostgresStore(server.url, { schema, migrate: false }), /mailstead store migrate/);
    assert.deepEqual(await migratePostgresStore(server.url, { schema }), { from: 0, to: PG_SCHEMA_VERSION });
    assert.deepEqual(await migratePostgresStore(server.url, { schema }), { from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION });
    const store = await openPostgresStore(server.url, { schema, migrate: false });
    await store.close();
  });

  it('brings a schema 3 store forward: mail kept, METADATA and ACL tables added', async () => {
    const schema = await server.newSchema();
    let store = await openPostgresStore(server.url, { schema });
    // The store as the release before migration 4 left it: its tables and version record undone.
    await store.db.query('DROP TABLE metadata, mailbox_acl');
    await store.db.query('DELETE FROM schema_version WHERE version >= 4');
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    await store.appendMessage(inbox.id, { content: Buffer.from('Subject: kept\r\n\r\nkept\r\n'), flags: ['\\Seen'] });
    await store.close();
    // As an operator upgrades: `mailstead store migrate`, then the nodes start.
    assert.deepEqual(await migratePostgresStore(server.url, { schema }), { from: 3, to: PG_SCHEMA_VERSION });
    store = await openPostgresStore(server.url, { schema, migrate: false });
    try {
      assert.deepEqual((await store.listMessages(inbox.id)).map((m) => [m.uid, m.flags]), [[1, ['\\Seen']]]);
      const scope = { accountId: account.id, mailboxId: inbox.id };
      await store.setMetadata([{ scope, name: '/private/comment', value: Buffer.from('after the upgrade') }], 10);
      assert.deepEqual(await store.getMetadata(scope, ['/private/comment'], false), [{ name: '/private/comment', value: Buffer.from('after the upgrade') }]);
    } finally {
      await store.close();
    }
  });
});
