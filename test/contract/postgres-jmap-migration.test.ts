/**
 * PostgreSQL migration 5 (JMAP lookups) on a store as today's release
 * (migration 3) leaves it: `store migrate` adds the two indexes, no message
 * is lost, and the JMAP reads work on the old mail.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { migratePostgresStore, openPostgresStore, PG_SCHEMA_VERSION } from '../../src/store/postgres/index.js';
import { startPostgres } from '../helpers/postgres.js';

const server = await startPostgres();
after(() => server.stop());

it('migrates a store from before migration 5: indexes added, every message kept and found by EMAILID and by arrival', async () => {
  const schema = await server.newSchema();
  const writer = await openPostgresStore(server.url, { schema });
  const account = await writer.createAccount('alice@example.com', 'h', null);
  const inbox = await writer.createMailbox(account.id, 'INBOX');
  for (let i = 0; i < 5; i++) {
    await writer.appendMessage(inbox.id, { content: Buffer.from(`Subject: ${i}\r\n\r\n${i}\r\n`), internalDate: new Date(Date.UTC(2026, 0, 10 - i)) });
  }
  const before = await writer.listMessages(inbox.id);
  // What the store was before migration 5: the same tables without the two indexes and without its row
  // (only its own row goes, so other migrations merged beside it are not run twice).
  await writer.db.query('DROP INDEX messages_by_email_id; DROP INDEX messages_by_arrival');
  await writer.db.query('DELETE FROM schema_version WHERE version = 5');
  await writer.close();

  await assert.rejects(openPostgresStore(server.url, { schema, migrate: false }), /mailstead store migrate/);
  const migrated = await migratePostgresStore(server.url, { schema });
  assert.ok(migrated.from < 5 && migrated.to === PG_SCHEMA_VERSION, JSON.stringify(migrated));
  const store = await openPostgresStore(server.url, { schema, migrate: false });
  try {
    assert.deepEqual(await store.listMessages(inbox.id), before, 'nothing changed or lost');
    assert.deepEqual((await store.listMessagesPage(inbox.id, 0, 2, false)).map((m) => m.uid), [5, 4]);
    assert.deepEqual((await store.findByEmailIds(account.id, [before[2]!.emailId])).map((r) => r.message.uid), [3]);
    const indexes = await store.db.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname IN ('messages_by_email_id', 'messages_by_arrival') ORDER BY indexname",
      [schema],
    );
    assert.deepEqual(indexes.rows.map((r) => r.indexname), ['messages_by_arrival', 'messages_by_email_id']);
  } finally {
    await store.close();
  }
});
