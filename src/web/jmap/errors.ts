/**
 * JMAP method-level errors (RFC 8620 §3.6.2) and per-object SetErrors
 * (§5.3), and the one mapping from the domain's StoreError codes to them.
 */
import { StoreError } from '../../store/types.js';

export class MethodError extends Error {
  constructor(
    readonly type: string,
    readonly description?: string,
  ) {
    super(description ?? type);
  }

  toJson(): Record<string, unknown> {
    return this.description ? { type: this.type, description: this.description } : { type: this.type };
  }
}

export interface SetError {
  type: string;
  description?: string;
  properties?: string[];
}

/** A store or domain failure as a SetError; anything unexpected is rethrown (the call then answers serverFail). */
export function setErrorFor(err: unknown): SetError {
  if (!(err instanceof StoreError)) throw err;
  switch (err.code) {
    case 'STORE_OVER_QUOTA':
      return { type: 'overQuota', description: 'The account is over its quota' };
    case 'STORE_NO_SUCH_MAILBOX':
    case 'STORE_NO_SUCH_ACCOUNT':
      return { type: 'notFound' };
    case 'STORE_MAILBOX_EXISTS':
      return { type: 'invalidProperties', description: 'A mailbox with this name already exists', properties: ['name'] };
    case 'STORE_INVALID_NAME':
      return { type: 'invalidProperties', description: 'Not a valid mailbox name', properties: ['name'] };
    case 'STORE_MAILBOX_HAS_CHILDREN':
      return { type: 'mailboxHasChild' };
    case 'STORE_MAILBOX_PROTECTED':
      return { type: 'forbidden', description: 'This mailbox cannot be changed that way' };
    case 'STORE_UNAVAILABLE':
    case 'STORE_FULL':
      throw err;
  }
  throw err;
}
