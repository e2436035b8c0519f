/**
 * Schema 6: message bodies leave the SQLite file for the blob store (issue
 * 11). Bodies move one at a time, in batches: each batch's files are synced
 * (data and names) before the transaction that empties those rows, so a
 * crash anywhere leaves every body either in its row or in its file, and the
 * next start carries on where this one stopped. Memory holds one body at a
 * time. The column goes last, when every row is empty (SQLite >= 3.35 has
 * DROP COLUMN; better-sqlite3 12 bundles a later one).
 */
import type { Database } from 'better-sqlite3';
import type { MigrationContext } from './schema.js';

/** Rows per batch: one transaction (and WAL growth) per this many bodies. */
const BATCH_ROWS = 100;

export function bodiesOutOfDatabaseMigration(version: number) {
  return {
    version,
    description: 'message bodies move out of the database into the blob store',
    sql: 'ALTER TABLE blobs DROP COLUMN data',
    prepare: moveBodiesOut,
  };
}

function moveBodiesOut(db: Database, { bodies }: MigrationContext): void {
  const hasData = db.prepare("SELECT 1 FROM pragma_table_info('blobs') WHERE name = 'data'").get();
  if (!hasData) return;
  const page = db.prepare<[string, number], string>('SELECT id FROM blobs WHERE id > ? ORDER BY id LIMIT ?').pluck();
  const read = db.prepare<[string], Buffer>('SELECT data FROM blobs WHERE id = ?').pluck();
  const empty = db.prepare("UPDATE blobs SET data = x'' WHERE id = ? AND length(data) > 0");
  let after = '';
  for (;;) {
    const ids = page.all(after, BATCH_ROWS);
    if (ids.length === 0) break;
    for (const id of ids) {
      // A file of that name holds these bytes already (content-addressed; written whole, then named).
      if (bodies.hasSync(id)) continue;
      const data = read.get(id);
      if (data !== undefined) bodies.importSync(id, data);
    }
    bodies.flushImportsSync();
    db.transaction(() => {
      for (const id of ids) empty.run(id);
    }).immediate();
    after = ids[ids.length - 1];
  }
}
