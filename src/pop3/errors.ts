/**
 * The one place where store and domain failures become POP3 replies
 * (RFC 3206 response codes: SYS/TEMP for "try again later", SYS/PERM for
 * "this will not get better by retrying"). Handlers never build these texts.
 */
import { StoreError, type StoreErrorCode } from '../store/types.js';
import { err, type Pop3Response } from '../protocol/pop3/index.js';

export interface MappedError {
  response: Pop3Response;
  /** True for failures that are not a known store condition: the session logs them as errors. */
  unexpected: boolean;
}

const STORE_REPLIES: Record<StoreErrorCode, Pop3Response> = {
  STORE_UNAVAILABLE: err('Storage is temporarily unavailable, try again later', 'SYS/TEMP'),
  STORE_FULL: err('Server storage is full, try again later', 'SYS/TEMP'),
  STORE_NO_SUCH_ACCOUNT: err('The account no longer exists', 'SYS/PERM'),
  STORE_NO_SUCH_MAILBOX: err('The maildrop (INBOX) does not exist', 'SYS/PERM'),
  STORE_OVER_QUOTA: err('Quota exceeded', 'SYS/PERM'),
  STORE_ACCOUNT_EXISTS: err('Account conflict in storage', 'SYS/PERM'),
  STORE_MAILBOX_EXISTS: err('Mailbox conflict in storage', 'SYS/PERM'),
  STORE_MAILBOX_HAS_CHILDREN: err('Mailbox has children', 'SYS/PERM'),
  STORE_MAILBOX_PROTECTED: err('Mailbox is protected', 'SYS/PERM'),
  STORE_INVALID_NAME: err('Invalid name in storage', 'SYS/PERM'),
  STORE_METADATA_TOO_MANY: err('Too many METADATA entries', 'SYS/PERM'),
};

export function pop3ErrorFor(error: unknown): MappedError {
  if (error instanceof StoreError) return { response: STORE_REPLIES[error.code], unexpected: false };
  // Unknown failures (a bug, a disk error surfacing as a plain Error) may pass on retry; say nothing internal.
  return { response: err('Internal server error, try again later', 'SYS/TEMP'), unexpected: true };
}

/** RFC 1939 §6: QUIT in the UPDATE state failed to remove the messages marked as deleted. */
export function updateFailed(error: unknown): MappedError {
  const mapped = pop3ErrorFor(error);
  const code = mapped.response.kind === 'err' ? mapped.response.code : undefined;
  return { response: err('Some deleted messages not removed', code ?? 'SYS/TEMP'), unexpected: mapped.unexpected };
}
