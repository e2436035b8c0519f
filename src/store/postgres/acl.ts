/** RFC 4314 access control lists on PostgreSQL (table `mailbox_acl`, migration 4), as src/store/sqlite/acl.ts. */
import type { AccountId, AclEntry, Mailbox, MailboxId } from '../types.js';
import { StoreError } from '../types.js';
import type { MailboxListRow } from '../sqlite/rows.js';
import { toMailbox } from '../sqlite/rows.js';
import { type AclRow, toEntry } from '../sqlite/acl.js';
import type { PgDb } from './db.js';

export async function getAclIn(db: PgDb, mailboxId: MailboxId): Promise<AclEntry[]> {
  const r = await db.query<AclRow>(
    'SELECT mailbox_id, identifier, account_id, rights FROM mailbox_acl WHERE mailbox_id = $1 ORDER BY identifier',
    [mailboxId],
  );
  return r.rows.map(toEntry);
}

export async function setAclIn(db: PgDb, mailboxId: MailboxId, entry: AclEntry): Promise<void> {
  await db.write(async (c) => {
    // FOR SHARE: neither the mailbox nor the grantee can go before this commits.
    if ((await c.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR SHARE', [mailboxId])).rows.length === 0) {
      throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    }
    if (entry.accountId !== null && (await c.query('SELECT 1 FROM accounts WHERE id = $1 FOR SHARE', [entry.accountId])).rows.length === 0) {
      throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${entry.accountId}`);
    }
    await c.query('DELETE FROM mailbox_acl WHERE mailbox_id = $1 AND identifier = $2', [mailboxId, entry.identifier]);
    if (entry.rights === '') return;
    await c.query('INSERT INTO mailbox_acl (mailbox_id, identifier, account_id, rights) VALUES ($1, $2, $3, $4)', [
      mailboxId,
      entry.identifier,
      entry.accountId,
      entry.rights,
    ]);
  });
}

/** `mailboxColumns`: the store's MAILBOX_WITH_COUNTS select (pg-store.ts), which owns the mailbox row shape. */
export async function sharedWithIn(
  db: PgDb,
  mailboxWithCounts: string,
  accountId: AccountId,
): Promise<Array<{ mailbox: Mailbox; entry: AclEntry }>> {
  return db.read(async (c) => {
    const rows = await c.query<AclRow>(
      `SELECT a.mailbox_id, a.identifier, a.account_id, a.rights FROM mailbox_acl a JOIN mailboxes m ON m.id = a.mailbox_id
         WHERE (a.account_id = $1 OR a.identifier = 'anyone') AND m.account_id <> $1 ORDER BY m.account_id, m.name, a.identifier`,
      [accountId],
    );
    const out: Array<{ mailbox: Mailbox; entry: AclEntry }> = [];
    for (const r of rows.rows) {
      const m = await c.query<MailboxListRow>(`${mailboxWithCounts} WHERE m.id = $1`, [r.mailbox_id]);
      out.push({ mailbox: toMailbox(m.rows[0]), entry: toEntry(r) });
    }
    return out;
  });
}
