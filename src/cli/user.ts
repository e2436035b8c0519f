/** `mailstead user add|passwd|del|list|set|show`: account administration on the data directory. */
import type { Command } from 'commander';
import { MailDomain } from '../domain/mail-domain.js';
import { DEFAULT_PASSWORD_SETTINGS, generatePassword, type PasswordSettings } from '../domain/passwords.js';
import { ConfigError, loadConfig } from '../config/load.js';
import {
  describePop3Policy,
  POP3_DELE_ACTIONS,
  POP3_SCOPES,
  pop3PolicyOf,
  type Pop3DeleAction,
  type Pop3Policy,
  type Pop3Scope,
} from '../domain/pop3-policy.js';
import { openCommandStore, storeOption } from './store-option.js';
import { StoreError } from '../store/types.js';
import { defaultDataDir, EX, formatSize, parseSize, readPasswordFromStdin, UsageError } from './util.js';

export interface DataDirFlag {
  dataDir?: string;
  /** The server's config file: its dataDir and `[auth]` (SCRAM on or off, iterations) apply, as in `serve --config`. */
  config?: string;
  /** A PostgreSQL store URL (--store, else the config file's `store`). */
  store?: string;
}

/** Data directory and password settings: --data-dir over the config file's dataDir; `[auth]` from the file, else the defaults. */
function settingsOf(flags: DataDirFlag): { dataDir: string; store?: string; passwords: PasswordSettings } {
  if (!flags.config) return { dataDir: flags.dataDir ?? defaultDataDir(), store: flags.store, passwords: DEFAULT_PASSWORD_SETTINGS };
  let config;
  try {
    config = loadConfig(flags.config, { dataDir: flags.dataDir, store: flags.store });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, EX.CONFIG);
    throw err;
  }
  return { dataDir: config.dataDir, store: config.store, passwords: { scram: config.auth.scram, scramIterations: config.auth.scramIterations } };
}

/** Opens the data directory's store with a bus that reaches a running server; maps store errors to exit codes. */
export async function withDomain<T>(flags: DataDirFlag, fn: (domain: MailDomain) => Promise<T>): Promise<T> {
  const { dataDir, store: storeUrl, passwords } = settingsOf(flags);
  const { store, bus } = await openCommandStore(dataDir, storeUrl);
  try {
    return await fn(new MailDomain(store, bus, { passwords }));
  } catch (err) {
    if (err instanceof StoreError) {
      // A full disk or an unavailable store may pass on retry (sysexits EX_TEMPFAIL), unlike bad input.
      const temporary = err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_FULL';
      const code = err.code === 'STORE_NO_SUCH_ACCOUNT' ? EX.NOUSER : temporary ? EX.TEMPFAIL : EX.DATAERR;
      throw new UsageError(err.message, code);
    }
    throw err;
  } finally {
    await bus.close();
    await store.close();
  }
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('Manage accounts (add, passwd, del, list, set, show).');
  const dataDirOption = ['--data-dir <dir>', 'data directory [default: ./data]'] as const;
  const configOption = [
    '--config <file>',
    "the server's configuration file: its dataDir and [auth] settings (scram, scramIterations) apply to passwords set here",
  ] as const;

  user
    .command('add')
    .description('Create an account with INBOX, Sent, Drafts, Trash, Junk and Archive.')
    .argument('<address>', 'login address, e.g. alice@example.com')
    .option(...dataDirOption)
    .option(...configOption)
    .option(...storeOption)
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
    .option(...configOption)
    .option(...storeOption)
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
    .option(...configOption)
    .option(...storeOption)
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
    .option(...configOption)
    .option(...storeOption)
    .action(async (flags: DataDirFlag) => {
      await withDomain(flags, async (domain) => {
        for (const a of await domain.store.listAccounts()) {
          process.stdout.write(`${a.address}\t${formatSize(a.usedBytes)}\t${formatSize(a.quotaBytes)}\n`);
        }
      });
    });

  user
    .command('set')
    .description("Change an account's POP3 policy (what POP3 sees, what DELE does, EXPIRE).")
    .argument('<address>')
    .option(...dataDirOption)
    .option(...configOption)
    .option(...storeOption)
    .option('--pop3-scope <scope>', 'what POP3 sees: inbox, or all (every mailbox but Trash and Junk)')
    .option('--pop3-from <when>', 'all mail, or only mail arriving from now on: all, now, or a date (2026-01-31)')
    .option('--pop3-dele <action>', 'what DELE does at QUIT: expunge, hide, seen, archive or trash')
    .option('--pop3-expire <days>', 'remove mail POP3 downloaded this many days ago (EXPIRE), or off')
    .action(async (address: string, flags: DataDirFlag & Pop3Flags) => {
      await withDomain(flags, async (domain) => {
        const account = await domain.requireAccount(address);
        const policy = applyPop3Flags(await pop3PolicyOf(domain, account.id), flags, new Date());
        await domain.store.setPop3Policy(account.id, policy);
        process.stdout.write(`${account.address} pop3 ${describePop3Policy(policy)}\n`);
      });
    });

  user
    .command('show')
    .description('Show an account: usage, quota, POP3 policy and POP3 devices.')
    .argument('<address>')
    .option(...dataDirOption)
    .option(...configOption)
    .option(...storeOption)
    .action(async (address: string, flags: DataDirFlag) => {
      await withDomain(flags, async (domain) => {
        const account = await domain.requireAccount(address);
        const lines = [
          `address\t${account.address}`,
          `used\t${formatSize(account.usedBytes)}`,
          `quota\t${formatSize(account.quotaBytes)}`,
          `pop3\t${describePop3Policy(await pop3PolicyOf(domain, account.id))}`,
        ];
        const devices = new Map<string, { downloaded: number; deleted: number }>();
        for (const r of await domain.store.listPop3DeviceState(account.id)) {
          const d = devices.get(r.device) ?? { downloaded: 0, deleted: 0 };
          if (r.downloadedAt) d.downloaded++;
          if (r.deletedAt) d.deleted++;
          devices.set(r.device, d);
        }
        for (const [device, d] of devices) {
          lines.push(`device\t${device === '' ? '(untagged)' : device}\tdownloaded ${d.downloaded}\tdeleted ${d.deleted}`);
        }
        process.stdout.write(lines.join('\n') + '\n');
      });
    });
}

interface Pop3Flags {
  pop3Scope?: string;
  pop3From?: string;
  pop3Dele?: string;
  pop3Expire?: string;
}

/** The current policy with the given flags applied; refuses unknown values and an empty change. */
function applyPop3Flags(current: Pop3Policy, flags: Pop3Flags, now: Date): Pop3Policy {
  const next = { ...current };
  let changed = false;
  if (flags.pop3Scope !== undefined) {
    next.scope = oneOf(flags.pop3Scope, POP3_SCOPES, '--pop3-scope') as Pop3Scope;
    changed = true;
  }
  if (flags.pop3From !== undefined) {
    const value = flags.pop3From.toLowerCase();
    const date = value === 'all' ? null : value === 'now' ? now : new Date(flags.pop3From);
    if (date !== null && Number.isNaN(date.getTime())) {
      throw new UsageError(`--pop3-from must be all, now or a date, not "${flags.pop3From}"`);
    }
    next.since = date;
    changed = true;
  }
  if (flags.pop3Dele !== undefined) {
    next.dele = oneOf(flags.pop3Dele, POP3_DELE_ACTIONS, '--pop3-dele') as Pop3DeleAction;
    changed = true;
  }
  if (flags.pop3Expire !== undefined) {
    const value = flags.pop3Expire.toLowerCase();
    if (value === 'off' || value === 'never') next.expireDays = null;
    else if (/^\d{1,5}$/.test(value)) next.expireDays = Number(value);
    else throw new UsageError(`--pop3-expire must be a number of days or off, not "${flags.pop3Expire}"`);
    changed = true;
  }
  if (!changed) throw new UsageError('nothing to set: give --pop3-scope, --pop3-from, --pop3-dele or --pop3-expire');
  return next;
}

function oneOf(value: string, allowed: readonly string[], flag: string): string {
  const lower = value.toLowerCase();
  if (!allowed.includes(lower)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value}"`);
  return lower;
}
