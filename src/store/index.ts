/** The storage layer's public surface: the MailStore contract and the embedded backend. */
export * from './types.js';
export { openSqliteStore, DEFAULT_BUSY_TIMEOUT_MS, SCHEMA_VERSION } from './sqlite/index.js';
export type { SqliteOptions } from './sqlite/index.js';
