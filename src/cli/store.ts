/**
 * `mailstead store migrate --store URL`: brings a PostgreSQL store's schema up to date.
 * `mailstead store copy --from DATA_DIR --to URL`: moves a SQLite store into PostgreSQL (docs/cluster.md).
 */
import type { Command } from 'commander';
import { StoreError } from '../store/types.js';
import { ToolError, TOOL_EXIT_CODES } from '../tools/errors.js';
import { EX, UsageError } from './util.js';

/** Loaded when a store command runs: every command (`serve` too) registers these, and the pg driver is ~15 MB. */
const postgresModule = () => import('../store/postgres/index.js');

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('Manage a PostgreSQL store (migrate, copy).');
  store
    .command('migrate')
    .description('Apply pending schema migrations to a PostgreSQL store (once, whatever the number of nodes running it).')
    .requiredOption('--store <url>', 'postgres://USER@HOST:PORT/DB (password from PGPASSWORD or the URL)')
    .action(async (flags: { store: string }) => {
      const { isPostgresUrl, migratePostgresStore } = await postgresModule();
      if (!isPostgresUrl(flags.store)) throw new UsageError('--store expects a PostgreSQL URL: postgres://USER@HOST:PORT/DB');
      try {
        const { from, to } = await migratePostgresStore(flags.store);
        process.stdout.write(from === to ? `schema is at version ${to}; nothing to do\n` : `migrated schema from version ${from} to ${to}\n`);
      } catch (err) {
        if (err instanceof StoreError) throw new UsageError(err.message, EX.TEMPFAIL);
        throw err;
      }
    });
  store
    .command('copy')
    .description('Copy a whole SQLite store (a data directory) into PostgreSQL, keeping UIDVALIDITY, UIDs, MODSEQs and UIDLs, so that no client resynchronises.')
    .requiredOption('--from <dir>', 'the data directory to copy (stop its server first)')
    .requiredOption('--to <url>', 'postgres://USER@HOST:PORT/DB')
    .option('--force', 'copy into a target that already holds data; accounts already there are left as they are')
    .addHelpText('after', '\nA rerun after an interruption resumes: accounts already copied are skipped.')
    .action(async (flags: { from: string; to: string; force?: boolean }) => {
      const { isPostgresUrl } = await postgresModule();
      const { copyStore } = await import('../tools/store-copy.js');
      if (!isPostgresUrl(flags.to)) throw new UsageError('--to expects a PostgreSQL URL: postgres://USER@HOST:PORT/DB');
      try {
        const report = await copyStore({
          fromDataDir: flags.from,
          toUrl: flags.to,
          force: flags.force,
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        const resumed = report.resumed ? ' (resumed)' : '';
        process.stdout.write(`copied ${report.accounts} accounts and ${report.messages} messages, ${report.skipped} already there${resumed}\n`);
      } catch (err) {
        if (err instanceof ToolError) throw new UsageError(err.message, TOOL_EXIT_CODES[err.kind]);
        if (err instanceof StoreError) throw new UsageError(err.message, EX.TEMPFAIL);
        throw err;
      }
    });
}
