/**
 * The other users' namespace (RFC 2342 §5): a mailbox another account
 * shared with a user appears to that user as "Shared/<owner address>/<name>".
 * A name resolves there only when its second level is the address of an
 * existing account other than the user's: a personal folder that happens to
 * be called "Shared" (made before this namespace existed) stays reachable.
 */
import type { Account, AccountId, AclEntry, Mailbox, MailStore } from '../store/types.js';
import { StoreError } from '../store/types.js';
import { requireRights, rightsIn } from './acl.js';
import { canonicalMailboxName, HIERARCHY_SEPARATOR } from './mailbox-names.js';

export const SHARED_NAMESPACE_PREFIX = `Shared${HIERARCHY_SEPARATOR}`;

/** "Shared/bob@example.com/Team" -> { owner: "bob@example.com", name: "Team" }; null for any other shape. */
export function splitSharedName(name: string): { owner: string; name: string } | null {
  if (!name.startsWith(SHARED_NAMESPACE_PREFIX)) return null;
  const rest = name.slice(SHARED_NAMESPACE_PREFIX.length);
  const cut = rest.indexOf(HIERARCHY_SEPARATOR);
  if (cut <= 0 || cut === rest.length - 1) return null;
  const owner = rest.slice(0, cut);
  return owner.includes('@') ? { owner: owner.toLowerCase(), name: canonicalMailboxName(rest.slice(cut + 1)) } : null;
}

/**
 * The mailbox a name given by account `userId` stands for, or null: one of
 * theirs, or another account's on which they hold "l" (RFC 4314 §4: without
 * it the mailbox is answered as missing, AclDenied with `visible` false),
 * then under its shared-namespace name (its id is what the store goes by).
 */
export async function findMailbox(store: MailStore, userId: AccountId, name: string): Promise<Mailbox | null> {
  const canonical = canonicalMailboxName(name);
  const shared = splitSharedName(canonical);
  if (shared) {
    const owner = await store.getAccount(shared.owner);
    if (owner && owner.id !== userId) {
      const mailbox = await store.getMailbox(owner.id, shared.name);
      if (!mailbox) return null;
      await requireRights(store, userId, mailbox, 'l');
      // Named as the user knows it, so every response (STATUS, SELECT's LIST, METADATA) says that name.
      return { ...mailbox, name: `${SHARED_NAMESPACE_PREFIX}${owner.address}${HIERARCHY_SEPARATOR}${mailbox.name}` };
    }
  }
  return store.getMailbox(userId, canonical);
}

/** Like findMailbox; a missing mailbox throws STORE_NO_SUCH_MAILBOX. */
export async function resolveMailbox(store: MailStore, user: Account, name: string): Promise<Mailbox> {
  const mailbox = await findMailbox(store, user.id, name);
  if (!mailbox) throw new StoreError('STORE_NO_SUCH_MAILBOX', `Mailbox does not exist: ${name}`);
  return mailbox;
}

/** True when `name` is in the shared namespace as `userId` sees it (another existing account's address as second level). */
export async function isSharedName(store: MailStore, userId: AccountId, name: string): Promise<boolean> {
  const shared = splitSharedName(canonicalMailboxName(name));
  if (!shared) return false;
  const owner = await store.getAccount(shared.owner);
  return owner !== null && owner.id !== userId;
}

/**
 * The mailboxes other accounts shared with `userId` on which it holds "l",
 * each under the name the user knows it by, ascending by that name.
 */
export async function sharedMailboxes(store: MailStore, userId: AccountId): Promise<Mailbox[]> {
  const byId = new Map<number, { mailbox: Mailbox; entries: AclEntry[] }>();
  for (const { mailbox, entry } of await store.listSharedWith(userId)) {
    const seen = byId.get(mailbox.id) ?? { mailbox, entries: [] };
    seen.entries.push(entry);
    byId.set(mailbox.id, seen);
  }
  const owners = new Map<AccountId, string | null>();
  const out: Mailbox[] = [];
  for (const { mailbox, entries } of byId.values()) {
    if (!rightsIn(userId, mailbox, entries).includes('l')) continue;
    if (!owners.has(mailbox.accountId)) owners.set(mailbox.accountId, (await store.getAccountById(mailbox.accountId))?.address ?? null);
    const owner = owners.get(mailbox.accountId);
    if (owner) out.push({ ...mailbox, name: `${SHARED_NAMESPACE_PREFIX}${owner}${HIERARCHY_SEPARATOR}${mailbox.name}` });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
