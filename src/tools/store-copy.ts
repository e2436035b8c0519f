/**
 * `mailstead store copy --from DATA_DIR --to postgres://...`: moves a whole
 * SQLite store into PostgreSQL so that no client resynchronises: accounts
 * with their password hashes and quotas, folders with UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ and MAILBOXID, subscriptions, messages with UIDs, MODSEQs,
 * flags, UIDLs, EMAILIDs and dates, the expunge log (QRESYNC VANISHED),
 * summaries, POP3 policy and device state, and the bodies.
 *
 * One account at a time: its bodies are streamed into the target first
 * (content-addressed, so a body already there is stored once), then all of
 * its rows go in one transaction. An interrupted copy leaves whole accounts
 * only; a rerun with the same source skips those and carries on. A target
 * that holds data (a finished copy included) is refused unless forced; then
 * accounts already there are left as they are.
 */
import { realpathSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openDataDir, storePath } from '../net/data-dir.js';
import type { Queryable } from '../store/postgres/db.js';
import { openPostgresStore, type PgMailStore } from '../store/postgres/index.js';
// The source's rows, read as the SQLite store reads them.
import { MESSAGE_COLUMNS, type AccountRow, type MessageRow } from '../store/sqlite/rows.js';
import type { MailStore, StagedBlob } from '../store/types.js';
import { ToolError } from './errors.js';

export interface StoreCopyOptions {
  fromDataDir: string;
  toUrl: string;
  /** Copy into a target that already holds data; accounts there already are skipped. */
  force?: boolean;
  progress?: (line: string) => void;
  /** Tests: stop (as a crash would) after this many accounts. */
  stopAfterAccounts?: number;
}

export interface StoreCopyReport {
  accounts: number;
  skipped: number;
  messages: number;
  resumed: boolean;
}

const BATCH = 1000;

export async function copyStore(options: StoreCopyOptions): Promise<StoreCopyReport> {
  // Opening through the store brings an older data directory to the current schema first.
  const source = await openDataDir(options.fromDataDir);
  let raw: Database.Database | null = null;
  let target: PgMailStore | null = null;
  try {
    raw = new Database(storePath(options.fromDataDir), { readonly: true });
    target = await openPostgresStore(options.toUrl);
    const sourceName = realpathSync(options.fromDataDir);
    const resumed = await begin(target, sourceName, options.force === true);
    const report: StoreCopyReport = { accounts: 0, skipped: 0, messages: 0, resumed };
    const accounts = raw.prepare('SELECT id, address, password_hash, quota_bytes, used_bytes, created_at FROM accounts ORDER BY id').all() as AccountRow[];
    for (const account of accounts) {
      if (options.stopAfterAccounts !== undefined && report.accounts >= options.stopAfterAccounts) {
        throw new ToolError('stopped on request (test)', 'local');
      }
      const present = await target.db.query('SELECT 1 FROM accounts WHERE lower(address) = lower($1)', [account.address]);
      if (present.rows.length > 0) {
        report.skipped++;
        continue;
      }
      report.messages += await copyAccount(raw, source, target, account);
      report.accounts++;
      options.progress?.(`copied ${account.address}`);
    }
    await target.db.query("UPDATE store_copy SET state = 'done', finished_at = now() WHERE id = 1");
    return report;
  } finally {
    raw?.close();
    await target?.close();
    await source.close();
  }
}

/** Claims the target; true when an interrupted copy of the same source is resumed. */
async function begin(target: PgMailStore, sourceName: string, force: boolean): Promise<boolean> {
  return target.db.write(async (c) => {
    const state = await c.query<{ source: string; state: string }>('SELECT source, state FROM store_copy WHERE id = 1 FOR UPDATE');
    const row = state.rows[0];
    if (row && row.state === 'running' && row.source === sourceName) return true;
    if (!force) {
      if (row?.state === 'done') throw new ToolError('the target already holds a finished copy (use --force to copy again)', 'usage');
      if (row) throw new ToolError(`the target holds an unfinished copy of ${row.source} (use --force)`, 'usage');
      const data = await c.query('SELECT 1 FROM accounts LIMIT 1');
      if (data.rows.length > 0) throw new ToolError('the target already holds accounts (use --force to copy the others into it)', 'usage');
    }
    await c.query(
      `INSERT INTO store_copy (id, source, state) VALUES (1, $1, 'running')
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, state = 'running', started_at = now(), finished_at = NULL`,
      [sourceName],
    );
    return false;
  });
}

interface MailboxRow {
  id: number;
  name: string;
  special_use: string | null;
  uidvalidity: number;
  uidnext: number;
  highest_modseq: number;
  object_id: string;
  message_count: number;
  unseen_count: number;
  size_bytes: number;
  deleted_count: number;
  deleted_bytes: number;
  first_recent_uid: number;
}

async function copyAccount(raw: Database.Database, source: MailStore, target: PgMailStore, account: AccountRow): Promise<number> {
  const mailboxes = raw
    .prepare(
      `SELECT id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id,
         message_count, unseen_count, size_bytes, deleted_count, deleted_bytes, first_recent_uid FROM mailboxes WHERE account_id = ? ORDER BY id`,
    )
    .all(account.id) as MailboxRow[];
  // Bodies first, one at a time (streamed), each held until the rows naming it are committed.
  const blobIds = raw
    .prepare('SELECT DISTINCT blob_id FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?) ORDER BY blob_id')
    .pluck()
    .all(account.id) as string[];
  const staged: StagedBlob[] = [];
  try {
    for (const blobId of blobIds) {
      const body = await source.openBlobRange(blobId, 0, Number.MAX_SAFE_INTEGER);
      if (!body) throw new ToolError(`the body ${blobId} of a message of ${account.address} is missing from the source`, 'local');
      const writer = target.createBlobWriter();
      try {
        for await (const chunk of body) await writer.write(chunk as Buffer);
        const s = await writer.commit();
        staged.push(s);
        if (s.blobId !== blobId) throw new ToolError(`the body ${blobId} does not match its address in the source`, 'local');
      } catch (err) {
        await writer.abort();
        throw err;
      }
    }
    let messages = 0;
    await target.db.write(async (c) => {
      const a = await c.query<{ id: number }>(
        'INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [account.address, account.password_hash, account.quota_bytes, account.used_bytes, account.created_at],
      );
      const accountId = a.rows[0].id;
      for (const m of mailboxes) {
        const r = await c.query<{ id: number }>(
          `INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id,
             message_count, unseen_count, size_bytes, deleted_count, deleted_bytes, first_recent_uid)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
          [accountId, m.name, m.special_use, m.uidvalidity, m.uidnext, m.highest_modseq, m.object_id,
            m.message_count, m.unseen_count, m.size_bytes, m.deleted_count, m.deleted_bytes, m.first_recent_uid],
        );
        messages += await copyMessages(raw, c, m.id, r.rows[0].id);
        await copyExpunged(raw, c, m.id, r.rows[0].id);
      }
      // A new mailbox must never get a UIDVALIDITY a copied one has (RFC 9051 §2.3.1.1).
      const highest = Math.max(0, ...mailboxes.map((m) => m.uidvalidity));
      await c.query(
        `INSERT INTO counters (name, value) VALUES ('uidvalidity', $1)
           ON CONFLICT (name) DO UPDATE SET value = greatest(counters.value, excluded.value)`,
        [highest],
      );
      const subscriptions = raw.prepare('SELECT name FROM subscriptions WHERE account_id = ?').pluck().all(account.id) as string[];
      if (subscriptions.length > 0) {
        await c.query('INSERT INTO subscriptions (account_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [accountId, subscriptions]);
      }
      const policy = raw.prepare('SELECT scope, since, dele, expire_days FROM pop3_policy WHERE account_id = ?').get(account.id) as
        | { scope: string; since: number | null; dele: string; expire_days: number | null }
        | undefined;
      if (policy) {
        await c.query('INSERT INTO pop3_policy (account_id, scope, since, dele, expire_days) VALUES ($1, $2, $3, $4, $5)', [
          accountId, policy.scope, policy.since, policy.dele, policy.expire_days,
        ]);
      }
      const state = raw
        .prepare('SELECT device, uidl, downloaded_at, deleted_at FROM pop3_device_state WHERE account_id = ?')
        .all(account.id) as Array<{ device: string; uidl: string; downloaded_at: number | null; deleted_at: number | null }>;
      for (let i = 0; i < state.length; i += BATCH) {
        const part = state.slice(i, i + BATCH);
        await c.query(
          `INSERT INTO pop3_device_state (account_id, device, uidl, downloaded_at, deleted_at)
             SELECT $1, d, u, dl, de FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS x(d, u, dl, de)`,
          [accountId, part.map((s) => s.device), part.map((s) => s.uidl), part.map((s) => s.downloaded_at), part.map((s) => s.deleted_at)],
        );
      }
      // Summaries are per body: copied once, whichever account names the body first.
      const summaries = raw
        .prepare(
          `SELECT blob_id, summary FROM message_summaries WHERE blob_id IN
             (SELECT blob_id FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?))`,
        )
        .all(account.id) as Array<{ blob_id: string; summary: string }>;
      for (let i = 0; i < summaries.length; i += BATCH) {
        const part = summaries.slice(i, i + BATCH);
        await c.query(
          `INSERT INTO message_summaries (blob_id, summary) SELECT b, s FROM unnest($1::text[], $2::text[]) AS x(b, s)
             ON CONFLICT (blob_id) DO NOTHING`,
          [part.map((s) => s.blob_id), part.map((s) => s.summary)],
        );
      }
    });
    return messages;
  } finally {
    await target.releaseStaged(staged);
  }
}

async function copyMessages(raw: Database.Database, c: Queryable, fromId: number, toId: number): Promise<number> {
  const page = raw.prepare(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid > ? ORDER BY uid LIMIT ${BATCH}`,
  );
  let after = 0;
  let copied = 0;
  for (;;) {
    const rows = page.all(fromId, after) as MessageRow[];
    if (rows.length === 0) return copied;
    await c.query(
      `INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date, pop3_size)
         SELECT $1, x.* FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::text[],
           $9::text[], $10::bigint[], $11::bigint[]) AS x`,
      [
        toId,
        rows.map((r) => r.uid),
        rows.map((r) => r.blob_id),
        rows.map((r) => r.size),
        rows.map((r) => r.internal_date),
        rows.map((r) => r.flags),
        rows.map((r) => r.modseq),
        rows.map((r) => r.uidl),
        rows.map((r) => r.email_id),
        rows.map((r) => r.save_date),
        rows.map((r) => r.pop3_size),
      ],
    );
    // One reference per message; the bodies are in place and held (addBlobReferences' rule).
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.blob_id, (counts.get(r.blob_id) ?? 0) + 1);
    const updated = await c.query(
      'UPDATE blobs b SET refcount = b.refcount + x.n FROM unnest($1::text[], $2::int[]) AS x(id, n) WHERE b.id = x.id',
      [[...counts.keys()], [...counts.values()]],
    );
    if (updated.rowCount !== counts.size) throw new ToolError('a copied body went missing in the target', 'local');
    copied += rows.length;
    after = rows[rows.length - 1].uid;
  }
}

async function copyExpunged(raw: Database.Database, c: Queryable, fromId: number, toId: number): Promise<void> {
  const page = raw.prepare(`SELECT uid, modseq FROM expunged WHERE mailbox_id = ? AND uid > ? ORDER BY uid LIMIT ${BATCH}`);
  let after = 0;
  for (;;) {
    const rows = page.all(fromId, after) as Array<{ uid: number; modseq: number }>;
    if (rows.length === 0) return;
    await c.query('INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, m FROM unnest($2::bigint[], $3::bigint[]) AS x(u, m)', [
      toId,
      rows.map((r) => r.uid),
      rows.map((r) => r.modseq),
    ]);
    after = rows[rows.length - 1].uid;
  }
}
