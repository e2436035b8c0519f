/**
 * Child process for the durability test in sqlite.test.ts: appends one
 * message, prints the acknowledged result as one JSON line, then waits to be
 * killed with SIGKILL (no close, no clean shutdown).
 * Usage: node --import tsx append-and-die.ts <db-path> <mailbox-id> <text> [<padding octets>]
 */
import { openSqliteStore } from '../../src/store/index.js';

const [path, mailboxId, text, pad] = process.argv.slice(2);
const store = await openSqliteStore(path);
const result = await store.appendMessage(Number(mailboxId), {
  content: Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n${'x'.repeat(Number(pad ?? 0))}`),
  flags: ['\\Flagged'],
});
process.stdout.write(JSON.stringify(result) + '\n');
setInterval(() => {}, 60_000); // stay alive until killed
