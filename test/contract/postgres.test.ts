/**
 * The PostgreSQL backend: the shared contract, each test on a fresh schema
 * of this run's database; then the races again with several store
 * instances on one schema, as several nodes run them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type pg from 'pg';
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

  it('recovers at start without reading every message or body: it keeps what live nodes write and removes what dead ones left', withNodes(2, async ([a, b]) => {
    const pgA = a as PgMailStore;
    const account = await a.createAccount('alice@example.com', 'h', null);
    const inbox = await a.createMailbox(account.id, 'INBOX');
    for (let i = 0; i < 3; i++) await a.appendMessage(inbox.id, { content: mail(i) });
    const dead = a.createBlobWriter();
    await dead.write(Buffer.alloc(300 * 1024, 0x41)); // past one chunk: rows are written
    const writing = b.createBlobWriter();
    await writing.write(Buffer.alloc(300 * 1024, 0x42));
    await pgA.db.query("UPDATE store_nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [pgA.nodeId]);
    // Another session holds the message table: a recovery that recounts references would wait for it.
    const locker = await pgA.db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      const recovered = b.recover();
      const waited = await waitsOnLock(pgA.db.pool, recovered);
      await locker.query('ROLLBACK');
      assert.equal(waited, false, 'recover() waited for the message table');
      assert.deepEqual(await recovered, { orphanBlobs: 0, repairedReferenceCounts: 0 });
    } finally {
      locker.release();
    }
    const chunks = await pgA.db.query<{ n: number }>('SELECT count(*)::int AS n FROM blob_chunks WHERE blob_id LIKE $1', ['s:%']);
    assert.equal(chunks.rows[0].n, 1, "the live node's chunk stays, the dead node's goes");
    await writing.write(Buffer.from('end'));
    const staged = await writing.commit();
    assert.equal((await b.readBlob(staged.blobId))?.length, 300 * 1024 + 3);
    await b.releaseStaged([staged]);
    assert.equal((await b.listMessages(inbox.id)).length, 3);
  }));

  it('fails the commit of a body whose staged chunks a recovery removed (its node taken for dead), storing nothing', withNodes(2, async ([a, b]) => {
    const pgA = a as PgMailStore;
    const writer = a.createBlobWriter();
    const content = Buffer.alloc(300 * 1024, 0x43);
    await writer.write(content);
    await pgA.db.query("UPDATE store_nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [pgA.nodeId]);
    await b.recover();
    await assert.rejects(writer.commit(), (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE');
    assert.equal(await b.readBlob(sha256(content)), null);
  }));

  it('delivers a small message in a few round trips and reads a change in one', withNodes(1, async ([store]) => {
    const pgStore = store as PgMailStore;
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    const counter = countStatements(pgStore.db.pool);
    // What one LMTP delivery asks of the store: the body, its summary read back, the append, the release.
    const writer = store.createBlobWriter();
    await writer.write(Buffer.from(`Subject: small\r\n\r\n${'x'.repeat(2000)}\r\n`));
    const staged = await writer.commit();
    const body = await store.openBlobRange(staged.blobId, 0, staged.size);
    for await (const chunk of body!) assert.ok(chunk);
    const [appended] = await store.appendStaged(inbox.id, [{ staged, summary: 'summary' }]);
    await store.releaseStaged([staged]);
    const delivery = counter.take();
    assert.ok(delivery.roundTrips <= 7, `a delivery took ${delivery.roundTrips} round trips`);
    assert.ok(delivery.transactions <= 3, `a delivery took ${delivery.transactions} transactions`);
    // What every IDLE session's node reads when told of it.
    const changes = await store.getChanges(inbox.id, appended.modSeq - 1);
    assert.deepEqual(changes.changed.map((m) => m.uid), [appended.uid]);
    assert.equal(changes.highestModSeq, appended.modSeq);
    assert.deepEqual(counter.take(), { roundTrips: 1, transactions: 1 });
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

/** Whether `work` waits on a lock before it settles (watched in pg_locks from another connection). */
async function waitsOnLock(pool: pg.Pool, work: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    const r = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'messages'::regclass");
    if (r.rows[0].n > 0) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}

/**
 * Counts the statements the pool's connections send from now on, and the
 * transactions they make (each BEGIN…COMMIT, and each statement outside one);
 * the heartbeat is left out. `take` returns the counts so far and starts again.
 */
function countStatements(pool: pg.Pool): { take(): { roundTrips: number; transactions: number } } {
  let roundTrips = 0;
  let transactions = 0;
  const wrapped = new WeakSet<object>();
  const inTransaction = new WeakSet<object>();
  pool.on('acquire', (client: pg.PoolClient) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text: string }).text;
      if (!text.includes('store_nodes')) {
        roundTrips++;
        if (/^BEGIN/.test(text)) {
          inTransaction.add(client);
          transactions++;
        } else if (/^(COMMIT|ROLLBACK)/.test(text)) inTransaction.delete(client);
        else if (!inTransaction.has(client)) transactions++;
      }
      return query(...args);
    };
  });
  return {
    take() {
      const counts = { roundTrips, transactions };
      roundTrips = 0;
      transactions = 0;
      return counts;
    },
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
