/**
 * RFC 5464 METADATA entries in SQLite (table `metadata`, migration 8): a
 * mailbox's entries are keyed by its id (removed with it by the foreign key,
 * kept across RENAME, which keeps the id), server entries by mailbox NULL.
 */
import type { MetadataChange, MetadataEntry, MetadataScope } from '../types.js';
import { StoreError } from '../types.js';
import type { SqliteDb } from './db.js';

interface EntryRow {
  name: string;
  value: Buffer;
}

export class MetadataRepo {
  constructor(private readonly sql: SqliteDb) {}

  get(scope: MetadataScope, names: string[], descendants: boolean): MetadataEntry[] {
    return this.sql.read(() => {
      const exact = this.sql.stmt<EntryRow>(
        'SELECT name, value FROM metadata WHERE account_id = ? AND coalesce(mailbox_id, 0) = ? AND name = ?',
      );
      // Every name below "a/b" sorts in ["a/b/", "a/b0"): '0' follows '/' in byte order.
      const below = this.sql.stmt<EntryRow>(
        'SELECT name, value FROM metadata WHERE account_id = ? AND coalesce(mailbox_id, 0) = ? AND name >= ? AND name < ? ORDER BY name',
      );
      const found = new Map<string, Buffer>();
      const box = scope.mailboxId ?? 0;
      for (const name of names) {
        const row = exact.get(scope.accountId, box, name);
        if (row) found.set(row.name, row.value);
        if (descendants) for (const r of below.all(scope.accountId, box, `${name}/`, `${name}0`)) found.set(r.name, r.value);
      }
      return [...found.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value: Buffer.from(value) }));
    });
  }

  set(changes: MetadataChange[], maxEntries: number): void {
    this.sql.write(() => {
      const mailboxExists = this.sql.stmt('SELECT 1 FROM mailboxes WHERE id = ?');
      const remove = this.sql.stmt('DELETE FROM metadata WHERE account_id = ? AND coalesce(mailbox_id, 0) = ? AND name = ?');
      const insert = this.sql.stmt('INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES (?, ?, ?, ?)');
      const accounts = new Set<number>();
      for (const { scope, name, value } of changes) {
        if (scope.mailboxId !== null && !mailboxExists.get(scope.mailboxId)) {
          throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${scope.mailboxId}`);
        }
        remove.run(scope.accountId, scope.mailboxId ?? 0, name);
        if (value === null) continue;
        // A Buffer that crossed a worker boundary arrives as a plain Uint8Array.
        insert.run(scope.accountId, scope.mailboxId, name, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        accounts.add(scope.accountId);
      }
      const count = this.sql.stmt<{ n: number }>('SELECT count(*) AS n FROM metadata WHERE account_id = ?');
      for (const accountId of accounts) {
        // Inside the write transaction: the whole change rolls back.
        if (count.get(accountId)!.n > maxEntries) {
          throw new StoreError('STORE_METADATA_TOO_MANY', `More than ${maxEntries} METADATA entries`);
        }
      }
    });
  }
}
