/**
 * JMAP Email/query paging over a large mailbox: a page deep in 100,000
 * messages against the first page and against reading the whole mailbox.
 * Run: node --import tsx bench/jmap-page.ts [messages]  (an in-memory store; no Dovecot peer: a ratio within one run).
 */
import { openSqliteStore } from '../src/store/index.js';

const count = Number(process.argv[2] ?? 100_000);
const store = await openSqliteStore(':memory:');
const account = await store.createAccount('bench@example.com', 'h', null);
const inbox = await store.createMailbox(account.id, 'INBOX');
for (let done = 0; done < count; done += 1000) {
  const batch = Array.from({ length: Math.min(1000, count - done) }, (_, i) => ({
    content: Buffer.from(`Subject: ${done + i}\r\n\r\nbody ${done + i}\r\n`),
    summary: '{}',
    internalDate: new Date(Date.UTC(2020, 0, 1) + (done + i) * 1000),
  }));
  await store.appendMessages(inbox.id, batch);
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    await fn();
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return runs.sort((a, b) => a - b)[2]!;
}

const rows: Array<[string, number]> = [
  ['page at 0 (50, newest first)', await median(() => store.listMessagesPage(inbox.id, 0, 50, true))],
  [`page at ${Math.floor(count / 2)}`, await median(() => store.listMessagesPage(inbox.id, Math.floor(count / 2), 50, true))],
  [`page at ${count - 50}`, await median(() => store.listMessagesPage(inbox.id, count - 50, 50, true))],
  ['whole mailbox (listMessages)', await median(() => store.listMessages(inbox.id))],
];
for (const [label, ms] of rows) console.log(`${label.padEnd(32)} ${ms.toFixed(2)} ms`);
await store.close();
