/**
 * What the main thread and the store threads say to each other
 * (worker-store.ts, store-worker.ts): requests, replies, errors as data, and
 * which calls are reads (the reader thread) or writes (the writer's batches).
 */
import { StoreError } from '../types.js';
import type { SqliteOptions } from './db.js';

export interface WorkerInit {
  path: string;
  options: SqliteOptions;
  /** The writer opens and migrates the database and runs every call but reads; a reader runs reads only. */
  role: 'writer' | 'reader';
}

export interface WorkerRequest {
  id: number;
  method: string;
  args: unknown[];
  /** Writer holds of the main thread's blob store, by blob id, lent for appendStaged's confirmSync. */
  holds?: Array<[string, string]>;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

export type CallReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export type WorkerReply =
  | CallReply
  | { id: 0; ready: true }
  | { id: 0; ready: false; error: SerializedError };


/** Reads: no transaction of their own beyond a snapshot; inside a batch they see its writes and answer after its commit. */
export const READS: ReadonlySet<string> = new Set([
  'getAccount',
  'getAccountById',
  'listAccounts',
  'listMailboxes',
  'getMailbox',
  'getMailboxById',
  'listSubscriptions',
  'listMessages',
  'getMessages',
  'getChanges',
  'listMessagesPage',
  'findByEmailIds',
  'countRecent',
  'readSummaries',
  'blobsNamed',
  'pendingBody',
  'getPop3Policy',
  'listPop3Deleted',
  'listPop3Downloads',
  'listPop3DeviceState',
  'getMetadata',
  'getAcl',
  'listSharedWith',
]);
export const WRITES: ReadonlySet<string> = new Set([
  'createAccount',
  'createAccountWithMailboxes',
  'deleteAccount',
  'setPasswordHash',
  'setQuota',
  'createMailbox',
  'deleteMailbox',
  'renameMailbox',
  'setSubscribed',
  'appendStaged',
  'releaseStaged',
  'settlePending',
  'dropPending',
  'saveSummary',
  'updateFlags',
  'updateFlagsUnchangedSince',
  'copyMessages',
  'moveMessages',
  'moveAllToNewMailbox',
  'expungeMessages',
  'expungeFlagged',
  'claimRecent',
  'setPop3Policy',
  'recordPop3Session',
  'commitPop3Update',
  'prunePop3State',
  'setMetadata',
  'setAcl',
]);
/** Run alone, outside any batch: recovery awaits directory listings between its transactions. */
export const ALONE: ReadonlySet<string> = new Set(['recover', 'close', 'stats']);

export function serializeError(err: unknown): SerializedError {
  if (err instanceof StoreError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
