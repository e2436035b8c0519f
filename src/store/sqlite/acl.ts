/**
 * RFC 4314 access control lists in SQLite (table `mailbox_acl`, migration 8):
 * removed with their mailbox and with the grantee's account by foreign keys,
 * kept across RENAME (keyed by mailbox id).
 */
import type { AccountId, AclEntry, Mailbox, MailboxId } from '../types.js';
import { StoreError } from '../types.js';
import type { SqliteDb } from './db.js';
import type { MailboxListRow } from './rows.js';
import { MAILBOX_WITH_COUNTS, toMailbox } from './rows.js';

/** A `mailbox_acl` row; the PostgreSQL store reads the same columns (postgres/acl.ts). */
export interface AclRow {
  mailbox_id: number;
  identifier: string;
  account_id: number | null;
  rights: string;
}

export const toEntry = (r: AclRow): AclEntry => ({ identifier: r.identifier, accountId: r.account_id, rights: r.rights });

export class AclRepo {
  constructor(private readonly sql: SqliteDb) {}

  get(mailboxId: MailboxId): AclEntry[] {
    return this.sql.read(() =>
      this.sql
        .stmt<AclRow>('SELECT mailbox_id, identifier, account_id, rights FROM mailbox_acl WHERE mailbox_id = ? ORDER BY identifier')
        .all(mailboxId)
        .map(toEntry),
    );
  }

  set(mailboxId: MailboxId, entry: AclEntry): void {
    this.sql.write(() => {
      if (!this.sql.stmt('SELECT 1 FROM mailboxes WHERE id = ?').get(mailboxId)) {
        throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
      }
      if (entry.accountId !== null && !this.sql.stmt('SELECT 1 FROM accounts WHERE id = ?').get(entry.accountId)) {
        throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${entry.accountId}`);
      }
      this.sql.stmt('DELETE FROM mailbox_acl WHERE mailbox_id = ? AND identifier = ?').run(mailboxId, entry.identifier);
      if (entry.rights === '') return;
      this.sql
        .stmt('INSERT INTO mailbox_acl (mailbox_id, identifier, account_id, rights) VALUES (?, ?, ?, ?)')
        .run(mailboxId, entry.identifier, entry.accountId, entry.rights);
    });
  }

  sharedWith(accountId: AccountId): Array<{ mailbox: Mailbox; entry: AclEntry }> {
    return this.sql.read(() => {
      const rows = this.sql
        .stmt<AclRow>(
          `SELECT a.mailbox_id, a.identifier, a.account_id, a.rights FROM mailbox_acl a JOIN mailboxes m ON m.id = a.mailbox_id
             WHERE (a.account_id = ? OR a.identifier = 'anyone') AND m.account_id <> ? ORDER BY m.account_id, m.name, a.identifier`,
        )
        .all(accountId, accountId);
      const mailbox = this.sql.stmt<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.id = ?`);
      return rows.map((r) => ({ mailbox: toMailbox(mailbox.get(r.mailbox_id)!), entry: toEntry(r) }));
    });
  }
}
