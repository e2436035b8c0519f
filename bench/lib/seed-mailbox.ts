/**
 * Fills one account's INBOX with many small messages through the store API
 * (MailStore.appendMessages, a transaction per batch of 200, 32 batches
 * in flight), for the
 * large-mailbox rows of the storage benchmark: 100,000 LMTP deliveries or
 * `import --direct` (a commit per message) take far too long on a shared
 * machine. Run as its own process beside the server (SQLite in WAL mode and
 * PostgreSQL both allow it):
 *
 *   node --import tsx bench/lib/seed-mailbox.ts (--data-dir DIR | --store URL) ADDRESS COUNT
 *
 * The bodies come from a pool of BODIES distinct messages, so most appends
 * find their body stored already (content addressing) and skip writing and
 * syncing a new file: a fresh blob per message costs two fsyncs, which on a
 * shared disk makes 100,000 take a quarter of an hour. SELECT and the session
 * memory, what the rows measure, read only the message rows.
 */
import { parseArgs } from 'node:util';
import { openDataDir } from '../../src/net/data-dir.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { MailStore, NewMessage } from '../../src/store/types.js';
import { largeMailboxMessage } from './corpus.js';

const BATCH = 200;
const BODIES = 4;
/** Batches in flight at once: their bodies are written and synced concurrently (the metadata commits stay in order). */
const PARALLEL = 32;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { 'data-dir': { type: 'string' }, store: { type: 'string' } }, allowPositionals: true });
  const [address, countText] = positionals;
  const count = Number(countText);
  if (!address || !Number.isInteger(count) || count < 1 || (!values['data-dir'] && !values.store)) {
    throw new Error('usage: seed-mailbox.ts (--data-dir DIR | --store URL) ADDRESS COUNT');
  }
  const store: MailStore = values.store ? await openPostgresStore(values.store) : await openDataDir(values['data-dir'] as string);
  try {
    const account = await store.getAccount(address);
    if (!account) throw new Error(`no account ${address}`);
    const inbox = await store.getMailbox(account.id, 'INBOX');
    if (!inbox) throw new Error(`${address} has no INBOX`);
    const date = new Date('2026-11-26T10:00:00Z');
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const batch: NewMessage[] = [];
        for (let i = from; i < next; i++) batch.push({ content: largeMailboxMessage(i % BODIES, address), flags: ['\\Seen'], internalDate: date });
        await store.appendMessages(inbox.id, batch);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  } finally {
    await store.close();
  }
}

main().catch((err) => {
  console.error(`seed-mailbox: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
