/** `mailstead user add|passwd|del|list`: account administration on the data directory. */
import type { Command } from 'commander';
import { MailDomain } from '../domain/mail-domain.js';
import { generatePassword } from '../domain/passwords.js';
import { openDataDir } from '../net/node.js';
import { ForwardingBus } from '../notify/process-bridge.js';
import { StoreError } from '../store/types.js';
import { defaultDataDir, EX, formatSize, parseSize, readPasswordFromStdin, UsageError } from './util.js';

interface DataDirFlag {
  dataDir?: string;
}

async function withDomain<T>(flags: DataDirFlag, fn: (domain: MailDomain) => Promise<T>): Promise<T> {
  const dataDir = flags.dataDir ?? defaultDataDir();
  const store = await openDataDir(dataDir);
  const bus = new ForwardingBus(dataDir);
  try {
    return await fn(new MailDomain(store, bus));
  } catch (err) {
    if (err instanceof StoreError) {
      const code = err.code === 'STORE_NO_SUCH_ACCOUNT' ? EX.NOUSER : err.code === 'STORE_UNAVAILABLE' ? EX.TEMPFAIL : EX.DATAERR;
      throw new UsageError(err.message, code);
    }
    throw err;
  } finally {
    await bus.close();
    await store.close();
  }
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('Manage accounts (add, passwd, del, list).');
  const dataDirOption = ['--data-dir <dir>', 'data directory [default: ./data]'] as const;

  user
    .command('add')
    .description('Create an account with INBOX, Sent, Drafts, Trash, Junk and Archive.')
    .argument('<address>', 'login address, e.g. alice@example.com')
    .option(...dataDirOption)
    .option('--password-stdin', 'read the password from the first line of standard input (otherwise one is generated and printed)')
    .option('--quota <size>', 'storage quota, e.g. 500M, 2G or unlimited [default: unlimited]')
    .action(async (address: string, flags: DataDirFlag & { passwordStdin?: boolean; quota?: string }) => {
      const quota = flags.quota ? parseSize(flags.quota) : null;
      const password = flags.passwordStdin ? await readPasswordFromStdin() : generatePassword();
      await withDomain(flags, async (domain) => {
        if (await domain.store.getAccount(address.toLowerCase())) {
          throw new UsageError(`account already exists: ${address}`, EX.CANTCREAT);
        }
        const account = await domain.createAccount(address, password, quota);
        process.stdout.write(`created ${account.address} (quota ${formatSize(account.quotaBytes)})\n`);
        if (!flags.passwordStdin) process.stdout.write(`password: ${password}\n`);
      });
    });

  user
    .command('passwd')
    .description('Set the password of an account.')
    .argument('<address>')
    .option(...dataDirOption)
    .option('--password-stdin', 'read the new password from the first line of standard input')
    .option('--quota <size>', 'also change the quota')
    .action(async (address: string, flags: DataDirFlag & { passwordStdin?: boolean; quota?: string }) => {
      if (!flags.passwordStdin) throw new UsageError('passwd needs --password-stdin (passwords never go on the command line)');
      const password = await readPasswordFromStdin();
      await withDomain(flags, async (domain) => {
        await domain.setPassword(address, password);
        if (flags.quota) {
          const account = await domain.requireAccount(address);
          await domain.store.setQuota(account.id, parseSize(flags.quota));
        }
        process.stdout.write(`password changed for ${address.toLowerCase()}\n`);
      });
    });

  user
    .command('del')
    .description('Delete an account and all its mail.')
    .argument('<address>')
    .option(...dataDirOption)
    .action(async (address: string, flags: DataDirFlag) => {
      await withDomain(flags, async (domain) => {
        await domain.deleteAccount(address);
        process.stdout.write(`deleted ${address.toLowerCase()}\n`);
      });
    });

  user
    .command('list')
    .description('List accounts with their usage and quota.')
    .option(...dataDirOption)
    .action(async (flags: DataDirFlag) => {
      await withDomain(flags, async (domain) => {
        for (const a of await domain.store.listAccounts()) {
          process.stdout.write(`${a.address}\t${formatSize(a.usedBytes)}\t${formatSize(a.quotaBytes)}\n`);
        }
      });
    });
}
