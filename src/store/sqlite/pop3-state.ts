/**
 * POP3 policy and per-device POP3 state in SQLite: its migration (hooked
 * into schema.ts) and its queries. State is keyed by UIDL, not by mailbox and
 * UID: a MOVE keeps the UIDL, so what a device downloaded or deleted follows
 * the message from INBOX to Archive and back.
 */
import type { AccountId, Pop3DeleAction, Pop3DeviceRecord, Pop3Policy, Pop3Scope } from '../types.js';
import { StoreError } from '../types.js';
import type { SqliteDb } from './db.js';

/** The migration that adds the two tables. Its version is given by schema.ts, which orders migrations. */
export function pop3StateMigration(version: number): { version: number; description: string; sql: string } {
  return {
    version,
    description: 'POP3 policy per account, POP3 download and deletion state per device',
    sql: `
      CREATE TABLE pop3_policy (
        account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        scope       TEXT NOT NULL,
        since       INTEGER,
        dele        TEXT NOT NULL,
        expire_days INTEGER
      );

      -- device '' is the untagged login ("alice@example.com"), acting for the whole account.
      CREATE TABLE pop3_device_state (
        account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        device        TEXT NOT NULL,
        uidl          TEXT NOT NULL,
        downloaded_at INTEGER,
        deleted_at    INTEGER,
        PRIMARY KEY (account_id, device, uidl)
      ) WITHOUT ROWID;
      CREATE INDEX pop3_device_state_by_uidl ON pop3_device_state (account_id, uidl);
    `,
  };
}

interface PolicyRow {
  scope: string;
  since: number | null;
  dele: string;
  expire_days: number | null;
}

interface StateRow {
  device: string;
  uidl: string;
  downloaded_at: number | null;
  deleted_at: number | null;
}

const UPSERT = `INSERT INTO pop3_device_state (account_id, device, uidl, downloaded_at, deleted_at) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (account_id, device, uidl) DO UPDATE SET
    downloaded_at = coalesce(downloaded_at, excluded.downloaded_at),
    deleted_at = coalesce(deleted_at, excluded.deleted_at)`;

export class Pop3StateRepo {
  constructor(private readonly sql: SqliteDb) {}

  getPolicy(accountId: AccountId): Pop3Policy | null {
    const row = this.sql.read(() =>
      this.sql.stmt<PolicyRow>('SELECT scope, since, dele, expire_days FROM pop3_policy WHERE account_id = ?').get(accountId),
    );
    if (!row) return null;
    return {
      scope: row.scope as Pop3Scope,
      since: row.since === null ? null : new Date(row.since),
      dele: row.dele as Pop3DeleAction,
      expireDays: row.expire_days,
    };
  }

  setPolicy(accountId: AccountId, policy: Pop3Policy): void {
    this.sql.write(() => {
      this.requireAccount(accountId);
      this.sql
        .stmt(
          `INSERT INTO pop3_policy (account_id, scope, since, dele, expire_days) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (account_id) DO UPDATE SET scope = excluded.scope, since = excluded.since,
             dele = excluded.dele, expire_days = excluded.expire_days`,
        )
        .run(accountId, policy.scope, policy.since?.getTime() ?? null, policy.dele, policy.expireDays);
    });
  }

  recordSession(accountId: AccountId, device: string, session: { retrieved: string[]; deleted: string[] }, at: Date): void {
    if (session.retrieved.length === 0 && session.deleted.length === 0) return;
    const time = at.getTime();
    this.sql.write(() => {
      this.requireAccount(accountId);
      const upsert = this.sql.stmt(UPSERT);
      for (const uidl of session.retrieved) upsert.run(accountId, device, uidl, time, null);
      for (const uidl of session.deleted) upsert.run(accountId, device, uidl, null, time);
    });
  }

  listDeleted(accountId: AccountId, devices: string[]): string[] {
    if (devices.length === 0) return [];
    return this.sql.read(() =>
      this.sql
        .stmt<{ uidl: string }>(
          `SELECT DISTINCT uidl FROM pop3_device_state WHERE account_id = ? AND deleted_at IS NOT NULL
             AND device IN (SELECT value FROM json_each(?)) ORDER BY uidl`,
        )
        .all(accountId, JSON.stringify(devices))
        .map((r) => r.uidl),
    );
  }

  listDownloads(accountId: AccountId): Array<{ uidl: string; firstDownloadedAt: Date }> {
    return this.sql.read(() =>
      this.sql
        .stmt<{ uidl: string; first: number }>(
          `SELECT uidl, min(downloaded_at) AS first FROM pop3_device_state
             WHERE account_id = ? AND downloaded_at IS NOT NULL GROUP BY uidl ORDER BY uidl`,
        )
        .all(accountId)
        .map((r) => ({ uidl: r.uidl, firstDownloadedAt: new Date(r.first) })),
    );
  }

  listState(accountId: AccountId): Pop3DeviceRecord[] {
    return this.sql.read(() =>
      this.sql
        .stmt<StateRow>(
          'SELECT device, uidl, downloaded_at, deleted_at FROM pop3_device_state WHERE account_id = ? ORDER BY device, uidl',
        )
        .all(accountId)
        .map((r) => ({
          device: r.device,
          uidl: r.uidl,
          downloadedAt: r.downloaded_at === null ? null : new Date(r.downloaded_at),
          deletedAt: r.deleted_at === null ? null : new Date(r.deleted_at),
        })),
    );
  }

  prune(accountId: AccountId, keepUidls: string[]): number {
    return this.sql.write(() => {
      const info = this.sql
        .stmt(
          'DELETE FROM pop3_device_state WHERE account_id = ? AND uidl NOT IN (SELECT value FROM json_each(?))',
        )
        .run(accountId, JSON.stringify(keepUidls));
      return info.changes;
    });
  }

  private requireAccount(accountId: AccountId): void {
    if (!this.sql.stmt('SELECT 1 FROM accounts WHERE id = ?').get(accountId)) {
      throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${accountId}`);
    }
  }
}
