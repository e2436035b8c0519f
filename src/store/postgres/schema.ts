/**
 * The PostgreSQL schema and its migrations. `schema_version` records the
 * versions applied; all pending ones run in one transaction under an
 * advisory lock, so several nodes starting at once migrate exactly once.
 * Append new migrations at the end; never edit one that has shipped.
 *
 * Names compare as bytes (COLLATE "C"), as in SQLite, whatever the
 * database's locale: mailbox order and the rename prefix range depend on it.
 * Times are milliseconds since the epoch (bigint), as in SQLite, so both
 * backends return identical values.
 */
import { StoreError } from '../types.js';
import type { PgDb, Queryable } from './db.js';

interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Bytes per body chunk: a ranged read touches only the chunks that overlap it. */
export const CHUNK_BYTES = 256 * 1024;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'accounts, mailboxes, counters, chunked bodies, messages, expunge log, POP3 state, nodes',
    sql: `
      CREATE TABLE counters (
        name  text PRIMARY KEY,
        value bigint NOT NULL
      );

      CREATE TABLE accounts (
        id            bigserial PRIMARY KEY,
        address       text NOT NULL,
        password_hash text NOT NULL,
        quota_bytes   bigint,
        used_bytes    bigint NOT NULL DEFAULT 0,
        created_at    bigint NOT NULL
      );
      -- Addresses are unique whatever their case (SQLite: COLLATE NOCASE).
      CREATE UNIQUE INDEX accounts_address_key ON accounts (lower(address));

      -- bigserial: a mailbox id is never reused, so a signal naming a deleted mailbox never reaches its namesake.
      CREATE TABLE mailboxes (
        id             bigserial PRIMARY KEY,
        account_id     bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name           text COLLATE "C" NOT NULL,
        special_use    text,
        uidvalidity    bigint NOT NULL,
        uidnext        bigint NOT NULL DEFAULT 1,
        highest_modseq bigint NOT NULL DEFAULT 1,
        object_id      text NOT NULL,
        message_count  bigint NOT NULL DEFAULT 0,
        unseen_count   bigint NOT NULL DEFAULT 0,
        size_bytes     bigint NOT NULL DEFAULT 0,
        deleted_count  bigint NOT NULL DEFAULT 0,
        deleted_bytes  bigint NOT NULL DEFAULT 0,
        CONSTRAINT mailboxes_account_name_key UNIQUE (account_id, name)
      );

      CREATE TABLE subscriptions (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name       text COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, name)
      );

      -- A stored body (its chunks are in blob_chunks under its id); refcount is the
      -- number of messages naming it. A body with refcount 0 lives while a hold names it.
      CREATE TABLE blobs (
        id          text PRIMARY KEY,
        size        bigint NOT NULL,
        chunk_bytes integer NOT NULL,
        refcount    integer NOT NULL DEFAULT 0
      );

      -- Body bytes, CHUNK_BYTES per row (the last one shorter), under the blob id once
      -- committed and under a staging id ("s:" + random) while a writer is still writing.
      -- EXTERNAL: stored uncompressed, so reading a chunk costs no decompression.
      -- Byte order (COLLATE "C"): staging ids ("s:...") form one key range, apart from hex ids.
      CREATE TABLE blob_chunks (
        blob_id text COLLATE "C" NOT NULL,
        seq     integer NOT NULL,
        data    bytea NOT NULL,
        PRIMARY KEY (blob_id, seq)
      );
      ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

      -- Nodes (store instances) that are alive: each refreshes its heartbeat. Staging
      -- writes and holds of a node whose heartbeat stopped are a crash's leftovers.
      CREATE TABLE store_nodes (
        id           text PRIMARY KEY,
        started_at   timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE blob_staging (
        id         text PRIMARY KEY,
        node_id    text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      -- A writer's commit protects the body until releaseStaged (BlobStore.release).
      CREATE TABLE blob_holds (
        id         bigserial PRIMARY KEY,
        blob_id    text NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
        node_id    text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX blob_holds_by_blob ON blob_holds (blob_id);

      CREATE TABLE message_summaries (
        blob_id text PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
        summary text NOT NULL
      );

      CREATE TABLE messages (
        mailbox_id    bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid           bigint NOT NULL,
        blob_id       text NOT NULL REFERENCES blobs(id),
        size          bigint NOT NULL,
        internal_date bigint NOT NULL,
        flags         text NOT NULL DEFAULT '',
        modseq        bigint NOT NULL,
        uidl          text NOT NULL,
        email_id      text NOT NULL,
        save_date     bigint,
        pop3_size     bigint NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE INDEX messages_by_modseq ON messages (mailbox_id, modseq);
      CREATE INDEX messages_by_uidl ON messages (mailbox_id, uidl);
      CREATE INDEX messages_by_blob ON messages (blob_id);

      CREATE TABLE expunged (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid        bigint NOT NULL,
        modseq     bigint NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      );
      CREATE INDEX expunged_by_modseq ON expunged (mailbox_id, modseq);

      CREATE TABLE pop3_policy (
        account_id  bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        scope       text NOT NULL,
        since       bigint,
        dele        text NOT NULL,
        expire_days integer
      );

      CREATE TABLE pop3_device_state (
        account_id    bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        device        text COLLATE "C" NOT NULL,
        uidl          text COLLATE "C" NOT NULL,
        downloaded_at bigint,
        deleted_at    bigint,
        PRIMARY KEY (account_id, device, uidl)
      );
      CREATE INDEX pop3_device_state_by_uidl ON pop3_device_state (account_id, uidl);
    `,
  },
  {
    version: 2,
    description: 'state of `mailstead store copy`',
    sql: `
      -- One row while and after a copy from a SQLite data directory runs: a rerun with the
      -- same source resumes; a finished copy is not repeated unless forced.
      CREATE TABLE store_copy (
        id          integer PRIMARY KEY CHECK (id = 1),
        source      text NOT NULL,
        state       text NOT NULL,
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
    `,
  },
  {
    version: 3,
    description: 'IMAP4rev1 \\Recent: the first UID of each mailbox no session has been told of yet',
    sql: `
      -- RFC 3501 §2.3.2: a message is \\Recent in the first session told of it; sessions on any
      -- node claim UIDs by moving this up in one UPDATE (store/types.ts claimRecent).
      -- Mail already stored when this runs has been seen: it does not become recent.
      ALTER TABLE mailboxes ADD COLUMN first_recent_uid bigint NOT NULL DEFAULT 1;
      UPDATE mailboxes SET first_recent_uid = uidnext;
    `,
  },
  {
    version: 4,
    description: 'METADATA entries (RFC 5464) and mailbox access control lists (RFC 4314)',
    sql: `
      -- As SQLite's migration 8 (src/store/sqlite/schema.ts): mailbox_id NULL is a server entry;
      -- account_id is the user (/private, server entries) or the mailbox's owner (/shared).
      CREATE TABLE metadata (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        mailbox_id bigint REFERENCES mailboxes(id) ON DELETE CASCADE,
        name       text COLLATE "C" NOT NULL,
        value      bytea NOT NULL
      );
      CREATE UNIQUE INDEX metadata_key ON metadata (account_id, coalesce(mailbox_id, 0), name);
      CREATE INDEX metadata_by_mailbox ON metadata (mailbox_id);

      -- RFC 4314 rights on a mailbox for an account's address (account_id) or "anyone" (account_id NULL).
      CREATE TABLE mailbox_acl (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        identifier text COLLATE "C" NOT NULL,
        account_id bigint REFERENCES accounts(id) ON DELETE CASCADE,
        rights     text NOT NULL,
        PRIMARY KEY (mailbox_id, identifier)
      );
      CREATE INDEX mailbox_acl_by_account ON mailbox_acl (account_id);
      CREATE INDEX mailbox_acl_by_identifier ON mailbox_acl (identifier);
    `,
  },
  {
    version: 5,
    description: 'JMAP: messages by EMAILID and by arrival',
    sql: `
      -- A JMAP Email is one RFC 8474 EMAILID, in any of the account's mailboxes (docs/jmap.md).
      CREATE INDEX IF NOT EXISTS messages_by_email_id ON messages (email_id);
      -- Email/query sorted by receivedAt (the internal date) pages through this, never sorting a mailbox.
      CREATE INDEX IF NOT EXISTS messages_by_arrival ON messages (mailbox_id, internal_date, uid);
    `,
  },
];

export const PG_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Advisory lock key (two int4): "mail" and the schema, so stores in different schemas migrate independently. */
const LOCK_SQL = 'SELECT pg_advisory_xact_lock(1835100524, hashtext(coalesce($1::text, current_schema())))';

/** The version the database is at (0 when empty). */
export async function schemaVersion(c: Queryable): Promise<number> {
  const exists = await c.query("SELECT to_regclass('schema_version') IS NOT NULL AS present");
  if (!exists.rows[0].present) return 0;
  const r = await c.query('SELECT coalesce(max(version), 0) AS v FROM schema_version');
  return Number(r.rows[0].v);
}

/**
 * Brings the database to PG_SCHEMA_VERSION (see PostgresOptions.migrate), or
 * checks that it is there; returns the version found. A database newer than
 * this code knows is refused: an older node must not write to it.
 */
export async function migrate(db: PgDb, apply: boolean | 'if-empty'): Promise<number> {
  return db.write(async (c) => {
    await c.query(LOCK_SQL, [db.schema ?? null]);
    if (db.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${db.schema}`);
    const current = await schemaVersion(c);
    if (current > PG_SCHEMA_VERSION) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `The PostgreSQL store is at schema version ${current}, newer than this Mailstead knows (${PG_SCHEMA_VERSION}); upgrade Mailstead`,
      );
    }
    if (current === PG_SCHEMA_VERSION) return current;
    if (apply === false || (apply === 'if-empty' && current > 0)) {
      throw new StoreError(
        'STORE_UNAVAILABLE',
        `The PostgreSQL store is at schema version ${current}, this Mailstead needs ${PG_SCHEMA_VERSION}: run \`mailstead store migrate --store URL\``,
      );
    }
    await c.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version     integer PRIMARY KEY,
      description text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [m.version, m.description]);
    }
    return current;
  });
}
