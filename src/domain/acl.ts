/**
 * RFC 4314 access control, decided once for every protocol: what the rights
 * letters are, who holds which on a mailbox, and who may change them.
 *
 * The owner of a mailbox always holds every right (their entry is implicit,
 * never stored, and cannot be changed: an owner who could lock themselves
 * out would need an administrator). Others hold the union of the entry for
 * their address and the entry for "anyone". Negative rights ("-bob") are
 * not supported (RFC 4314 §2 makes them optional).
 */
import type { Account, AccountId, AclEntry, Mailbox, MailStore } from '../store/types.js';

/** RFC 4314 §2.1, in the order rights strings are written. */
export const ALL_RIGHTS = 'lrswipkxtea';
/** The identifier every account matches (RFC 4314 §2). */
export const ANYONE = 'anyone';

/** A rights string with letters RFC 4314 does not define: a protocol error. */
export class InvalidRights extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRights';
  }
}

/**
 * The user lacks `right` on the mailbox. `visible`: they hold "l" (lookup),
 * so they may learn that it exists (RFC 4314 §4: otherwise the reply must not
 * tell the mailbox apart from one that does not exist).
 */
export class AclDenied extends Error {
  constructor(
    readonly right: string,
    readonly visible: boolean,
  ) {
    super(`Permission denied (right "${right}" needed)`);
    this.name = 'AclDenied';
  }
}

/** An identifier SETACL cannot name: an unknown account, or the owner (whose rights are fixed). */
export class InvalidIdentifier extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidIdentifier';
  }
}

/**
 * The canonical form of a rights string: letters in ALL_RIGHTS order, each
 * once. RFC 4314 §2.1.1: the obsolete "c" (create) stands for "k" and "d"
 * (delete) for "xte", as RFC 2086 clients send them.
 */
export function canonicalRights(text: string): string {
  const letters = new Set<string>();
  for (const ch of text) {
    if (ch === 'c') letters.add('k');
    else if (ch === 'd') for (const r of 'xte') letters.add(r);
    else if (ALL_RIGHTS.includes(ch)) letters.add(ch);
    else throw new InvalidRights(`Unknown right "${ch.slice(0, 1)}"`);
  }
  return [...ALL_RIGHTS].filter((r) => letters.has(r)).join('');
}

/** What account `userId` may do on `mailbox`, given the mailbox's stored entries. */
export function rightsIn(userId: AccountId, mailbox: Mailbox, entries: readonly AclEntry[]): string {
  if (mailbox.accountId === userId) return ALL_RIGHTS;
  const held = entries
    .filter((e) => e.identifier === ANYONE || e.accountId === userId)
    .map((e) => e.rights)
    .join('');
  return canonicalRights(held);
}

/** The rights of account `userId` on `mailbox` as stored now. */
export async function rightsOf(store: MailStore, userId: AccountId, mailbox: Mailbox): Promise<string> {
  if (mailbox.accountId === userId) return ALL_RIGHTS;
  return rightsIn(userId, mailbox, await store.getAcl(mailbox.id));
}

/** Throws AclDenied unless account `userId` holds every right in `needed` on `mailbox`. */
export async function requireRights(store: MailStore, userId: AccountId, mailbox: Mailbox, needed: string): Promise<string> {
  const held = await rightsOf(store, userId, mailbox);
  for (const right of needed) if (!held.includes(right)) throw new AclDenied(right, held.includes('l'));
  return held;
}

/** GETACL (RFC 4314 §3.3): the owner first, with every right, then the stored entries. Needs "a". */
export async function readAcl(store: MailStore, user: Account, mailbox: Mailbox): Promise<Array<{ identifier: string; rights: string }>> {
  await requireRights(store, user.id, mailbox, 'a');
  const owner = await store.getAccountById(mailbox.accountId);
  const entries = (await store.getAcl(mailbox.id)).map((e) => ({ identifier: e.identifier, rights: e.rights }));
  return owner ? [{ identifier: owner.address, rights: ALL_RIGHTS }, ...entries] : entries;
}

/**
 * SETACL (RFC 4314 §3.1): `modRights` replaces the identifier's rights, or
 * with a leading "+" or "-" adds or removes some; DELETEACL is SETACL with
 * "" (§3.2). Needs "a". Returns nothing; the change is durable when it resolves.
 */
export async function changeAcl(store: MailStore, user: Account, mailbox: Mailbox, identifier: string, modRights: string): Promise<void> {
  await requireRights(store, user.id, mailbox, 'a');
  const entry = await resolveIdentifier(store, mailbox, identifier);
  const op = modRights.startsWith('+') ? '+' : modRights.startsWith('-') ? '-' : '=';
  const given = canonicalRights(op === '=' ? modRights : modRights.slice(1));
  const current = (await store.getAcl(mailbox.id)).find((e) => e.identifier === entry.identifier)?.rights ?? '';
  const rights =
    op === '=' ? given : op === '+' ? canonicalRights(current + given) : [...current].filter((r) => !given.includes(r)).join('');
  await store.setAcl(mailbox.id, { ...entry, rights });
}

/** LISTRIGHTS (RFC 4314 §3.4): what may be granted to `identifier`: always none, each right on its own. Needs "a". */
export async function listRights(store: MailStore, user: Account, mailbox: Mailbox, identifier: string): Promise<{ required: string; optional: string[] }> {
  await requireRights(store, user.id, mailbox, 'a');
  const owner = await store.getAccountById(mailbox.accountId);
  // The owner holds every right, always.
  if (owner && identifier.toLowerCase() === owner.address) return { required: ALL_RIGHTS, optional: [] };
  return { required: '', optional: [...ALL_RIGHTS] };
}

/** "anyone", or the address of an existing account other than the owner. */
async function resolveIdentifier(store: MailStore, mailbox: Mailbox, identifier: string): Promise<Omit<AclEntry, 'rights'>> {
  const lower = identifier.trim().toLowerCase();
  if (lower === ANYONE) return { identifier: ANYONE, accountId: null };
  if (lower.startsWith('-')) throw new InvalidIdentifier('Negative rights are not supported');
  const account = await store.getAccount(lower);
  if (!account) throw new InvalidIdentifier(`No such user: ${identifier.slice(0, 254)}`);
  if (account.id === mailbox.accountId) throw new InvalidIdentifier("The owner's rights cannot be changed");
  return { identifier: account.address, accountId: account.id };
}
