/** The clustered store: PostgreSQL via `pg`, shared by any number of nodes. */
import { randomUUID } from 'node:crypto';
import type { PostgresOptions } from './db.js';
import { PgDb } from './db.js';
import { PgMailStore } from './pg-store.js';
import { migrate, PG_SCHEMA_VERSION } from './schema.js';

export type { PostgresOptions } from './db.js';
export { PgMailStore } from './pg-store.js';
export { PG_SCHEMA_VERSION } from './schema.js';

/** `mailstead store migrate`: applies pending migrations; returns the versions before and after. */
export async function migratePostgresStore(url: string, options: Pick<PostgresOptions, 'schema'> = {}): Promise<{ from: number; to: number }> {
  const db = new PgDb(url, options);
  try {
    const from = await migrate(db, true);
    return { from, to: PG_SCHEMA_VERSION };
  } finally {
    await db.close();
  }
}

/** True for a `postgres://` or `postgresql://` store URL. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//i.test(store);
}

/**
 * Connects, brings the schema up to date (or checks it, with
 * `migrate: false`) and registers this instance as a live node.
 */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<PgMailStore> {
  const db = new PgDb(url, options);
  const nodeId = randomUUID();
  try {
    await migrate(db, options.migrate ?? 'if-empty');
    await db.query('INSERT INTO store_nodes (id) VALUES ($1)', [nodeId]);
  } catch (err) {
    await db.close();
    throw err;
  }
  return new PgMailStore(db, nodeId);
}
