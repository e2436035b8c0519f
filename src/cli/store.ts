/** `mailstead store migrate --store URL`: brings a PostgreSQL store's schema up to date. */
import type { Command } from 'commander';
import { isPostgresUrl, migratePostgresStore } from '../store/postgres/index.js';
import { StoreError } from '../store/types.js';
import { EX, UsageError } from './util.js';

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('Manage a PostgreSQL store (migrate).');
  store
    .command('migrate')
    .description('Apply pending schema migrations to a PostgreSQL store (once, whatever the number of nodes running it).')
    .requiredOption('--store <url>', 'postgres://USER@HOST:PORT/DB (password from PGPASSWORD or the URL)')
    .action(async (flags: { store: string }) => {
      if (!isPostgresUrl(flags.store)) throw new UsageError('--store expects a PostgreSQL URL: postgres://USER@HOST:PORT/DB');
      try {
        const { from, to } = await migratePostgresStore(flags.store);
        process.stdout.write(from === to ? `schema is at version ${to}; nothing to do\n` : `migrated schema from version ${from} to ${to}\n`);
      } catch (err) {
        if (err instanceof StoreError) throw new UsageError(err.message, EX.TEMPFAIL);
        throw err;
      }
    });
}
