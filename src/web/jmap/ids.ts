/**
 * JMAP ids and state strings (docs/jmap.md gives the reasons).
 *
 * - Account: "A" and the store's account id.
 * - Mailbox: its RFC 8474 MAILBOXID (kept across renames, never reused).
 */
import type { AccountId } from '../../store/types.js';

export function jmapAccountId(id: AccountId): string {
  return `A${id}`;
}

/** RFC 8620 §1.2: 1-255 octets of URL-safe base64 characters. */
export function isJmapId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,255}$/.test(value);
}
