/**
 * RFC 5464 METADATA entries on PostgreSQL (table `metadata`, migration 4),
 * with the same semantics as src/store/sqlite/metadata.ts. A change locks
 * the accounts whose entries it touches (ascending ids, the first lock every
 * write takes), so the count checked against the limit is exact across nodes.
 */
import type { AccountId, MetadataChange, MetadataEntry, MetadataScope } from '../types.js';
import { StoreError } from '../types.js';
import type { PgDb } from './db.js';

export async function getMetadataIn(db: PgDb, scope: MetadataScope, names: string[], descendants: boolean): Promise<MetadataEntry[]> {
  if (names.length === 0) return [];
  // Every name below "a/b" sorts in ["a/b/", "a/b0") under byte order (COLLATE "C"): '0' follows '/'.
  const r = await db.query<{ name: string; value: Buffer }>(
    `SELECT name, value FROM metadata
       WHERE account_id = $1 AND coalesce(mailbox_id, 0) = $2
         AND (name = ANY($3::text[]) OR ($4 AND EXISTS (
           SELECT 1 FROM unnest($3::text[]) AS n(p) WHERE name >= n.p || '/' AND name < n.p || '0')))
       ORDER BY name`,
    [scope.accountId, scope.mailboxId ?? 0, names, descendants],
  );
  return r.rows.map((row) => ({ name: row.name, value: row.value }));
}

export async function setMetadataIn(db: PgDb, changes: MetadataChange[], maxEntries: number): Promise<void> {
  if (changes.length === 0) return;
  await db.write(async (c) => {
    const owners = [...new Set(changes.map((ch) => ch.scope.accountId))].sort((a, b) => a - b);
    for (const id of owners) {
      const r = await c.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', [id]);
      if (r.rows.length === 0) throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${id}`);
    }
    const mailboxes = [...new Set(changes.map((ch) => ch.scope.mailboxId).filter((id): id is number => id !== null))];
    for (const id of mailboxes) {
      // FOR SHARE: the mailbox cannot be deleted before this commits (its entries would outlive it).
      const r = await c.query('SELECT 1 FROM mailboxes WHERE id = $1 FOR SHARE', [id]);
      if (r.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${id}`);
    }
    const grown = new Set<AccountId>();
    for (const { scope, name, value } of changes) {
      await c.query('DELETE FROM metadata WHERE account_id = $1 AND coalesce(mailbox_id, 0) = $2 AND name = $3', [
        scope.accountId,
        scope.mailboxId ?? 0,
        name,
      ]);
      if (value === null) continue;
      await c.query('INSERT INTO metadata (account_id, mailbox_id, name, value) VALUES ($1, $2, $3, $4)', [
        scope.accountId,
        scope.mailboxId,
        name,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      ]);
      grown.add(scope.accountId);
    }
    for (const id of grown) {
      const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM metadata WHERE account_id = $1', [id]);
      if (Number(r.rows[0].n) > maxEntries) throw new StoreError('STORE_METADATA_TOO_MANY', `More than ${maxEntries} METADATA entries`);
    }
  });
}
