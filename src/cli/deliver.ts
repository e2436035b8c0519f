/**
 * `mailstead deliver ADDRESS [--mailbox NAME] < message`: local delivery like
 * an LDA (Postfix `mailbox_command`, procmail). Exit codes are sysexits(3), which MTAs
 * understand: 0 delivered, 67 unknown user, 75 temporary failure (retry),
 * 77 over quota (permanent, like LMTP's 552), 65 bad input. A full disk is
 * 75, never 0: nothing was stored, and the MTA retries.
 */
import type { Command } from 'commander';
import { MailDomain } from '../domain/mail-domain.js';
import { openCommandStore, storeOption } from './store-option.js';
import { limits } from '../protocol/limits.js';
import { StoreError } from '../store/types.js';
import { defaultDataDir, EX, readStdin, UsageError } from './util.js';

export function registerDeliverCommand(program: Command): void {
  program
    .command('deliver')
    .description('Deliver one message from standard input into an account (local delivery agent).')
    .argument('<address>', 'recipient account')
    .option('--mailbox <name>', 'target mailbox; INBOX when it does not exist', 'INBOX')
    .option('--data-dir <dir>', 'data directory [default: ./data]')
    .option(...storeOption)
    .addHelpText('after', '\nExit codes: 0 delivered, 67 unknown user, 75 temporary failure, 77 over quota, 65 empty or too large message.')
    .action(async (address: string, flags: { mailbox: string; dataDir?: string; store?: string }) => {
      const content = await readStdin();
      if (content.length === 0) throw new UsageError('empty message on standard input', EX.DATAERR);
      if (content.length > limits.maxMessageBytes) {
        throw new UsageError(`message is larger than ${limits.maxMessageBytes} bytes`, EX.DATAERR);
      }
      const dataDir = flags.dataDir ?? defaultDataDir();
      let store;
      let bus;
      try {
        ({ store, bus } = await openCommandStore(dataDir, flags.store));
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`cannot open the store: ${(err as Error).message}`, EX.TEMPFAIL);
      }
      try {
        const result = await new MailDomain(store, bus).deliver(address, content, flags.mailbox);
        process.stdout.write(`delivered to ${address.toLowerCase()} as UID ${result.uid}\n`);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'STORE_NO_SUCH_ACCOUNT') throw new UsageError(err.message, EX.NOUSER);
        if (err instanceof StoreError && err.code === 'STORE_OVER_QUOTA') throw new UsageError(`over quota: ${address}`, EX.NOPERM);
        // The disk is full: nothing was stored; the MTA keeps the message and retries (sysexits EX_TEMPFAIL).
        if (err instanceof StoreError && err.code === 'STORE_FULL') throw new UsageError('temporary failure: mail system full', EX.TEMPFAIL);
        throw new UsageError(`temporary failure: ${(err as Error).message}`, EX.TEMPFAIL);
      } finally {
        await bus.close();
        await store.close();
      }
    });
}
