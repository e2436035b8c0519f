/**
 * `mailstead expire [--data-dir DIR] [--now DATE]`: one pass of the POP3
 * retention job (EXPIRE), for cron or for a server that is not running. The
 * running server does the same every hour; IMAP sessions of a running server
 * are told of what this removes through its notify socket.
 */
import type { Command } from 'commander';
import { runRetention } from '../domain/retention.js';
import { UsageError } from './util.js';
import { storeOption } from './store-option.js';
import { type DataDirFlag, withDomain } from './user.js';

export function registerExpireCommand(program: Command): void {
  program
    .command('expire')
    .description('Apply POP3 retention (EXPIRE) once: remove or archive mail POP3 downloaded more than N days ago.')
    .option('--data-dir <dir>', 'data directory [default: ./data]')
    .option(...storeOption)
    .option('--now <date>', 'pretend the time is DATE (ISO 8601), e.g. to preview what a later run removes')
    .action(async (flags: DataDirFlag & { now?: string }) => {
      const now = flags.now === undefined ? new Date() : new Date(flags.now);
      if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be a date, not "${flags.now}"`);
      await withDomain(flags, async (domain) => {
        let total = 0;
        for (const r of await runRetention(domain, now)) {
          if (r.expireDays < 0) continue; // no EXPIRE policy: only device state was tidied
          process.stdout.write(`${r.address}\texpire ${r.expireDays} days\t${r.action} ${r.count}\n`);
          total += r.count;
        }
        process.stdout.write(`expired ${total} messages\n`);
      });
    });
}
