/**
 * Child process for the pending-body tests in sqlite-blobs.test.ts: for each
 * text, stages a small body through a blob writer and appends it (the commit
 * carries its bytes), printing the acknowledged result as one JSON line; then
 * waits to be killed with SIGKILL without releasing them, so their moves to
 * files never start.
 * Usage: node --import tsx append-staged-and-die.ts <db-path> <mailbox-id> <text>...
 */
import { openSqliteStore } from '../../src/store/index.js';

const [path, mailboxId, ...texts] = process.argv.slice(2);
const store = await openSqliteStore(path);
for (const text of texts) {
  const writer = store.createBlobWriter();
  await writer.write(Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`));
  const staged = await writer.commit();
  const [result] = await store.appendStaged(Number(mailboxId), [{ staged }]);
  process.stdout.write(JSON.stringify({ ...result, pending: staged.pending !== undefined }) + '\n');
}
setInterval(() => {}, 60_000); // stay alive until killed
