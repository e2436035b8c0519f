/**
 * `--store URL` for the commands that work on a store beside a running
 * server (`user`, `deliver`): without it, the data directory's SQLite store
 * and a bus that reaches the local server over its socket; with a
 * PostgreSQL URL, the cluster's store and a NOTIFY bus that reaches every node.
 */
import { openDataDir } from '../net/data-dir.js';
import type { NotifyBus } from '../notify/bus.js';
import { ForwardingBus } from '../notify/process-bridge.js';
import type { MailStore } from '../store/types.js';
import { UsageError } from './util.js';

export const storeOption = [
  '--store <url>',
  'PostgreSQL store shared by a cluster: postgres://USER@HOST:PORT/DB (password from PGPASSWORD or the URL) [default: SQLite in the data directory]',
] as const;

export async function openCommandStore(dataDir: string, storeUrl: string | undefined): Promise<{ store: MailStore; bus: NotifyBus }> {
  if (!storeUrl) return { store: await openDataDir(dataDir), bus: new ForwardingBus(dataDir) };
  // Loaded only when asked for: the pg driver is ~15 MB, and `mailstead serve` loads this module too.
  const [{ isPostgresUrl, openPostgresStore }, { PgNotifyBus }] = await Promise.all([
    import('../store/postgres/index.js'),
    import('../notify/pg-bus.js'),
  ]);
  if (!isPostgresUrl(storeUrl)) throw new UsageError('--store expects a PostgreSQL URL: postgres://USER@HOST:PORT/DB');
  const store = await openPostgresStore(storeUrl);
  try {
    return { store, bus: await PgNotifyBus.open({ url: storeUrl, publishOnly: true }) };
  } catch (err) {
    await store.close();
    throw err;
  }
}
