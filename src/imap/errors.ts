/**
 * The one place where store and domain failures become IMAP replies
 * (as Dovecot maps MAIL_ERROR_* to IMAP_RESP_CODE_*). Response codes are
 * those of RFC 9051 §7.1 (from RFC 5530) and RFC 4315.
 */
import { InvalidMailboxName } from '../domain/mailbox-names.js';
import { InvalidMetadataEntry, MetadataValueTooLarge } from '../domain/metadata.js';
import { AclDenied, InvalidIdentifier, InvalidRights } from '../domain/acl.js';
import type { Logger } from '../observability/log.js';
import { MalformedMailboxName } from '../protocol/imap/mutf7.js';
import { StoreError } from '../store/types.js';
import type { Completion } from './state.js';
import { bad, no } from './state.js';

/**
 * `target`: the failing mailbox is the destination of COPY, MOVE or APPEND;
 * a missing one then gets TRYCREATE (RFC 9051 §6.3.12, §6.4.7) instead of NONEXISTENT.
 */
export function errorCompletion(err: unknown, log: Logger, opts: { target?: boolean } = {}): Completion {
  if (err instanceof InvalidMailboxName) return no(err.message, { name: 'CANNOT' });
  if (err instanceof MalformedMailboxName) return no(err.message, { name: 'CANNOT' });
  // RFC 5464 §4.3: a malformed entry name is a protocol error; limits are announced in the code.
  if (err instanceof InvalidMetadataEntry) return bad(err.message);
  // RFC 4314 §4: without "l" the mailbox is answered as if it did not exist.
  if (err instanceof AclDenied) return err.visible ? no(err.message, { name: 'NOPERM' }) : no('Mailbox does not exist', { name: 'NONEXISTENT' });
  if (err instanceof InvalidRights) return bad(err.message);
  if (err instanceof InvalidIdentifier) return no(err.message, { name: 'CANNOT' });
  if (err instanceof MetadataValueTooLarge) return no(err.message, { name: 'METADATA', value: `MAXSIZE ${err.maxBytes}` });
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'STORE_OVER_QUOTA':
        return no('Quota exceeded', { name: 'OVERQUOTA' });
      case 'STORE_NO_SUCH_MAILBOX':
        return opts.target
          ? no('Mailbox does not exist', { name: 'TRYCREATE' })
          : no('Mailbox does not exist', { name: 'NONEXISTENT' });
      case 'STORE_MAILBOX_EXISTS':
        return no('Mailbox already exists', { name: 'ALREADYEXISTS' });
      case 'STORE_ACCOUNT_EXISTS':
        return no('Account already exists', { name: 'ALREADYEXISTS' });
      case 'STORE_MAILBOX_HAS_CHILDREN':
        return no('Mailbox has children; delete them first', { name: 'HASCHILDREN' });
      case 'STORE_MAILBOX_PROTECTED':
        return no(err.message, { name: 'CANNOT' });
      case 'STORE_INVALID_NAME':
        return no(err.message, { name: 'CANNOT' });
      case 'STORE_FULL':
        // RFC 5530 §3: the server's disk is full, not the user's quota (OVERQUOTA would tell the user to
        // delete mail; GETQUOTAROOT would contradict it). A temporary failure of the storage subsystem:
        // the client retries later, as after any UNAVAILABLE. See docs/reliability.md.
        return no('Server storage is full; try again later', { name: 'UNAVAILABLE' });
      case 'STORE_METADATA_TOO_MANY':
        return no('Too many METADATA entries', { name: 'METADATA', value: 'TOOMANY' });
      case 'STORE_NO_SUCH_ACCOUNT':
      case 'STORE_UNAVAILABLE':
        return no('Storage temporarily unavailable', { name: 'UNAVAILABLE' });
    }
  }
  log.error({ err }, 'imap command failed');
  return no('Internal error', { name: 'SERVERBUG' });
}

/** For a store error thrown while reading the selected mailbox outside a command (IDLE, sync). */
export function isMailboxGone(err: unknown): boolean {
  return err instanceof StoreError && err.code === 'STORE_NO_SUCH_MAILBOX';
}
