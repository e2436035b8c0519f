/**
 * The PostgreSQL connection pool: int8 as JS numbers, transactions, and the
 * one place where PostgreSQL errors become protocol-neutral StoreErrors.
 * Every statement is asynchronous; nothing here blocks the event loop.
 */
import pg from 'pg';
import { StoreError } from '../types.js';

export interface PostgresOptions {
  /** Schema holding the tables (default: the connection's search_path, usually "public"). */
  schema?: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /**
   * Migrations at open: true applies any pending ones (`mailstead store migrate`); 'if-empty'
   * (the default) creates the schema in an empty database but refuses one at an older version,
   * so that an upgrade of a shared database is a deliberate step; false only checks.
   */
  migrate?: boolean | 'if-empty';
}

/** A connection inside a transaction (or the pool for single statements). */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * A statement run often (each delivery, each IDLE wake-up): prepared once per
 * connection under its name, so it is parsed and planned once, not each time.
 * Use with `db.query(statement, params)` or `c.query({ ...statement, values })`.
 */
export interface Prepared {
  readonly name: string;
  readonly text: string;
}

export function prepared(name: string, text: string): Prepared {
  return { name: `mailstead_${name}`, text };
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * UIDs, MODSEQs, sizes and ids are bigint columns; pg returns int8 as
 * strings by default. All of them stay far below 2^53 (see types.ts), so
 * they are parsed as numbers, for this pool only (not pg's global table).
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A schema name usable unquoted in search_path: letters, digits, underscore. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PgDb {
  readonly pool: pg.Pool;
  private closed = false;

  constructor(
    readonly url: string,
    readonly options: PostgresOptions = {},
  ) {
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
      throw new StoreError('STORE_UNAVAILABLE', `Invalid PostgreSQL schema name: ${options.schema}`);
    }
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      types,
      // Each connection sees the store's schema only.
      options: options.schema ? `-c search_path=${options.schema}` : undefined,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    // An idle client that loses its server emits 'error' on the pool; the next query reconnects.
    this.pool.on('error', () => {});
  }

  get schema(): string | undefined {
    return this.options.schema;
  }

  /** One statement on any pooled connection (`sql` a Prepared for the hot paths). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string | Prepared, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    this.requireOpen();
    try {
      return await this.pool.query<R>(typeof sql === 'string' ? { text: sql, values: params } : { ...sql, values: params });
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** One statement, its rows as arrays of values in column order (no object per row: long listings decode faster). */
  async queryArrays(sql: string | Prepared, params: unknown[] = []): Promise<unknown[][]> {
    this.requireOpen();
    try {
      const statement = typeof sql === 'string' ? { text: sql } : sql;
      return (await this.pool.query<unknown[]>({ ...statement, rowMode: 'array', values: params })).rows;
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * Runs `fn` in a READ COMMITTED transaction; rows it changes stay locked
   * until COMMIT, which is how UIDs, MODSEQs and quota stay race-free across
   * nodes. Deadlocks and serialization failures (which PostgreSQL rolls
   * back whole) are retried a few times.
   */
  async write<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', fn, 5);
  }

  /** One consistent snapshot across several SELECTs. */
  async read<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn, 1);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async transaction<T>(begin: string, fn: (c: Queryable) => Promise<T>, attempts: number): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.requireOpen();
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw toStoreError(err);
      }
      let broken = false;
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        const code = (err as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < attempts) continue;
        throw toStoreError(err);
      } finally {
        client.release(broken);
      }
    }
  }

  private requireOpen(): void {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'The mail store is closed');
  }
}

/** Maps PostgreSQL and connection failures to StoreError codes; anything else passes through unchanged. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; constraint?: string; message?: string };
  const code = e.code ?? '';
  if (code === '23505') {
    if (e.constraint?.startsWith('accounts_')) return new StoreError('STORE_ACCOUNT_EXISTS', 'Account already exists');
    if (e.constraint?.startsWith('mailboxes_')) return new StoreError('STORE_MAILBOX_EXISTS', 'Mailbox already exists');
  }
  // disk_full, out of memory, too many connections, insufficient resources
  if (code === '53100') return new StoreError('STORE_FULL', `Mail store full: ${e.message}`);
  if (
    /^(08|53|57|58|XX)/.test(code) ||
    code === '40P01' ||
    code === '40001' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      e.message ?? '',
    )
  ) {
    return new StoreError('STORE_UNAVAILABLE', `Mail store unavailable: ${e.message ?? code}`);
  }
  return err;
}
