/**
 * The SQLite schema and its migrations. Each migration runs once, in its own
 * transaction, at open; `schema_version` records the ones applied, so a
 * database written by an older Mailstead is brought forward in place.
 * Append new migrations at the end; never edit one that has shipped.
 */
import type { Database } from 'better-sqlite3';
import { pop3SizeOf } from '../pop3-size.js';
import type { LocalBlobStore } from '../blob-store.js';
import { bodiesOutOfDatabaseMigration } from './blob-migration.js';
import { pop3StateMigration } from './pop3-state.js';

/** What a migration may need besides the database. */
export interface MigrationContext {
  /** Where message bodies live outside the database (schema 6 on). */
  bodies: LocalBlobStore;
}

interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Work SQL cannot do, run after `sql` in the same transaction. */
  run?: (db: Database) => void;
  /**
   * Work done before the migration's transaction, in steps that are each
   * safe to repeat after a crash (e.g. moving bodies out in batches).
   */
  prepare?: (db: Database, context: MigrationContext) => void;
}

/** Exported for the migration tests, which build a database as an older Mailstead left it. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'accounts, mailboxes, subscriptions, content-addressed blobs, messages, expunge log',
    sql: `
      -- Named monotonically increasing counters; 'uidvalidity' is the last UIDVALIDITY handed out.
      CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE accounts (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        address       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        quota_bytes   INTEGER,
        used_bytes    INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL
      );

      -- AUTOINCREMENT: a mailbox id is never reused, so a session or bus signal
      -- naming a deleted mailbox can never reach its recreated namesake.
      CREATE TABLE mailboxes (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name           TEXT NOT NULL,
        special_use    TEXT,
        uidvalidity    INTEGER NOT NULL,
        uidnext        INTEGER NOT NULL DEFAULT 1,
        highest_modseq INTEGER NOT NULL DEFAULT 1,
        UNIQUE (account_id, name)
      );

      -- By name, not by mailbox id: RFC 9051 §6.3.7 keeps subscriptions to names that do not exist.
      CREATE TABLE subscriptions (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        PRIMARY KEY (account_id, name)
      ) WITHOUT ROWID;

      -- Content-addressed (id = sha256 hex): identical bytes are stored once;
      -- refcount is the number of message rows naming the blob. data is the
      -- last column so that reading size/refcount does not touch its pages.
      CREATE TABLE blobs (
        id       TEXT PRIMARY KEY,
        size     INTEGER NOT NULL,
        refcount INTEGER NOT NULL,
        data     BLOB NOT NULL
      );

      CREATE TABLE messages (
        mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid           INTEGER NOT NULL,
        blob_id       TEXT NOT NULL REFERENCES blobs(id),
        size          INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        flags         TEXT NOT NULL DEFAULT '',
        modseq        INTEGER NOT NULL,
        uidl          TEXT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) WITHOUT ROWID;
      CREATE INDEX messages_by_modseq ON messages (mailbox_id, modseq);
      CREATE INDEX messages_by_uidl ON messages (mailbox_id, uidl);
      CREATE INDEX messages_by_blob ON messages (blob_id);

      -- The change log of removals: sessions (and later QRESYNC VANISHED,
      -- RFC 7162 §3.2.10) learn from it which UIDs went away after a MODSEQ.
      CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid        INTEGER NOT NULL,
        modseq     INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) WITHOUT ROWID;
      CREATE INDEX expunged_by_modseq ON expunged (mailbox_id, modseq);
    `,
  },
  {
    version: 2,
    description: 'message summaries per blob, EMAILID and SAVEDATE per message',
    sql: `
      -- What the domain derived from a blob at ingest (MIME structure, envelope,
      -- preview), so FETCH ENVELOPE/BODYSTRUCTURE never re-parse the message.
      -- A separate table: blobs.data is large and comes last in its row.
      -- Messages stored before this version get theirs on first use.
      CREATE TABLE message_summaries (
        blob_id TEXT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
        summary TEXT NOT NULL
      );

      -- RFC 8474 EMAILID: random, kept by COPY and MOVE.
      ALTER TABLE messages ADD COLUMN email_id TEXT NOT NULL DEFAULT '';
      UPDATE messages SET email_id = 'M' || lower(hex(randomblob(12)));
      -- RFC 8514 SAVEDATE (ms since the epoch); unknown (NIL) for older mail.
      ALTER TABLE messages ADD COLUMN save_date INTEGER;
    `,
  },
  pop3StateMigration(3),
  {
    version: 4,
    description: 'MAILBOXID per mailbox',
    sql: `
      -- RFC 8474 §4 MAILBOXID: random, kept by RENAME; a mailbox deleted and created again gets a new one.
      ALTER TABLE mailboxes ADD COLUMN object_id TEXT NOT NULL DEFAULT '';
      UPDATE mailboxes SET object_id = 'F' || lower(hex(randomblob(12)));
    `,
  },
  {
    version: 5,
    description: 'message, unseen, deleted and size counters per mailbox; POP3 size per message',
    sql: `
      -- Kept in the same transaction as every change to the mailbox's messages, so
      -- STATUS, SELECT and delivery read them instead of counting the mailbox.
      ALTER TABLE mailboxes ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailboxes ADD COLUMN unseen_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailboxes ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
      -- Messages with the Deleted flag and their size: STATUS DELETED and DELETED-STORAGE (RFC 9051, RFC 9208).
      ALTER TABLE mailboxes ADD COLUMN deleted_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailboxes ADD COLUMN deleted_bytes INTEGER NOT NULL DEFAULT 0;
      -- Flags are stored canonically and space-separated, so instr() finds exactly the system flag.
      UPDATE mailboxes SET
        message_count = (SELECT count(*) FROM messages x WHERE x.mailbox_id = mailboxes.id),
        unseen_count = (SELECT count(*) FROM messages x WHERE x.mailbox_id = mailboxes.id
          AND instr(' ' || x.flags || ' ', ' \\Seen ') = 0),
        size_bytes = (SELECT coalesce(sum(x.size), 0) FROM messages x WHERE x.mailbox_id = mailboxes.id),
        deleted_count = (SELECT count(*) FROM messages x WHERE x.mailbox_id = mailboxes.id
          AND instr(' ' || x.flags || ' ', ' \\Deleted ') > 0),
        deleted_bytes = (SELECT coalesce(sum(x.size), 0) FROM messages x WHERE x.mailbox_id = mailboxes.id
          AND instr(' ' || x.flags || ' ', ' \\Deleted ') > 0);
      -- Usage was kept the same way already; set it from the messages once, in case it ever drifted.
      UPDATE accounts SET used_bytes = (SELECT coalesce(sum(x.size), 0) FROM messages x
        WHERE x.mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = accounts.id));

      -- RFC 1939 §5 octets (CRLF line ends, before byte-stuffing), so POP3 STAT/LIST read no body.
      -- Filled per blob by fillPop3Sizes; a message whose blob is missing keeps its stored size.
      ALTER TABLE messages ADD COLUMN pop3_size INTEGER NOT NULL DEFAULT 0;
      UPDATE messages SET pop3_size = size WHERE blob_id NOT IN (SELECT id FROM blobs);
    `,
    run: fillPop3Sizes,
  },
  bodiesOutOfDatabaseMigration(6),
  {
    version: 7,
    description: 'IMAP4rev1 \\Recent: the first UID of each mailbox no session has been told of yet',
    sql: `
      -- RFC 3501 §2.3.2: a message is \\Recent in the first session told of it. Sessions claim
      -- the UIDs below their mailbox's UIDNEXT by moving this up, atomically (store/types.ts).
      -- Mail already stored when this runs has been seen: it does not become recent.
      ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
      UPDATE mailboxes SET first_recent_uid = uidnext;
    `,
  },
  {
    version: 8,
    description: 'METADATA entries (RFC 5464) and mailbox access control lists (RFC 4314)',
    sql: `
      -- RFC 5464 entries: a mailbox's (mailbox_id) or the server's (NULL). account_id is whose the entry
      -- is: the user for /private and server entries, the mailbox's owner for /shared (store/types.ts).
      -- name is lower case with its /private or /shared prefix; value is octets.
      CREATE TABLE metadata (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        value      BLOB NOT NULL
      );
      CREATE UNIQUE INDEX metadata_key ON metadata (account_id, coalesce(mailbox_id, 0), name);
      CREATE INDEX metadata_by_mailbox ON metadata (mailbox_id);

      -- RFC 4314 rights granted on a mailbox to an identifier: an account's address (account_id is
      -- that account, so its grants go with it) or "anyone" (account_id NULL). The owner's own
      -- rights are implicit and not stored. rights: RFC 4314 letters in canonical order.
      CREATE TABLE mailbox_acl (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        identifier TEXT NOT NULL,
        account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
        rights     TEXT NOT NULL,
        PRIMARY KEY (mailbox_id, identifier)
      ) WITHOUT ROWID;
      CREATE INDEX mailbox_acl_by_account ON mailbox_acl (account_id);
      CREATE INDEX mailbox_acl_by_identifier ON mailbox_acl (identifier);
    `,
  },
  {
    version: 9,
    description: 'JMAP: messages by EMAILID and by arrival',
    sql: `
      -- A JMAP Email is one RFC 8474 EMAILID, in any of the account's mailboxes (docs/jmap.md).
      CREATE INDEX IF NOT EXISTS messages_by_email_id ON messages (email_id);
      -- Email/query sorted by receivedAt (the internal date) pages through this, never sorting a mailbox.
      CREATE INDEX IF NOT EXISTS messages_by_arrival ON messages (mailbox_id, internal_date, uid);
    `,
  },
  {
    version: 10,
    description: 'Small bodies committed with their message, moved to their file afterwards',
    sql: `
      -- A small new body rides in the commit that names it (one fsync for a whole group of
      -- deliveries instead of a body sync, a directory sync and the commit in a row); it is
      -- written to its file under blobs/ after the reply, and its row deleted then. Startup
      -- recovery moves what a crash left. Goes with its blob row.
      CREATE TABLE pending_bodies (
        id   TEXT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
        body BLOB NOT NULL
      );
    `,
  },
];

/**
 * Counts the POP3 size of every stored body, one blob at a time (keyset
 * order, so only one body is in memory however large the store), and gives it
 * to every message naming that blob.
 */
function fillPop3Sizes(db: Database): void {
  const next = db.prepare('SELECT id, data FROM blobs WHERE id > ? ORDER BY id LIMIT 1');
  const update = db.prepare('UPDATE messages SET pop3_size = ? WHERE blob_id = ?');
  let last = '';
  for (;;) {
    const blob = next.get(last) as { id: string; data: Buffer } | undefined;
    if (!blob) break;
    update.run(pop3SizeOf(blob.data), blob.id);
    last = blob.id;
  }
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Applies every migration newer than the database; refuses a database newer than this code. */
export function migrate(db: Database, context: MigrationContext): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL,
    description TEXT NOT NULL
  )`);
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null };
  const current = row.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`Database schema version ${current} is newer than this Mailstead (${SCHEMA_VERSION})`);
  }
  const record = db.prepare('INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)');
  const applied = db.prepare('SELECT 1 FROM schema_version WHERE version = ?');
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    migration.prepare?.(db, context);
    db.transaction(() => {
      // Another process opening the same store may have applied it meanwhile.
      if (applied.get(migration.version)) return;
      db.exec(migration.sql);
      migration.run?.(db);
      record.run(migration.version, Date.now(), migration.description);
    }).immediate();
  }
}
