/**
 * Child process for sqlite-blobs.test.ts: expunges one message of a store
 * (run with MAILSTEAD_TEST_CRASH_AT=store.expunge.metadata-committed, it dies
 * between the metadata commit and the removal of the body file).
 * Usage: node --import tsx expunge-and-die.ts <db-path> <mailbox-id> <uid>
 */
import { openSqliteStore } from '../../src/store/index.js';

const [path, mailboxId, uid] = process.argv.slice(2);
const store = await openSqliteStore(path);
await store.expungeMessages(Number(mailboxId), [Number(uid)]);
process.stdout.write('expunged\n');
await store.close();
