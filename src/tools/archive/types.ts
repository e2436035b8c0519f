import type { TrustOptions } from './connect.js';
import type { MailUrl } from './url.js';

export interface ArchiveOptions {
  url: MailUrl;
  password: string;
  trust: TrustOptions;
  /** The archive directory. */
  to: string;
  /** Compliance mode: delete on the server once the archive copy is durable. */
  delete: boolean;
  /** IMAP: every selectable folder, not only the one in the URL (INBOX by default). */
  allFolders: boolean;
  progress: boolean;
}

export interface ArchiveFailure {
  /** "INBOX UID 12", "UIDL abc". */
  message: string;
  reason: string;
}

export interface ArchiveReport {
  source: string;
  folders: string[];
  /** Messages on the server when the run looked. */
  seen: number;
  archived: number;
  bytes: number;
  /** Already in the manifest: not downloaded again. */
  alreadyArchived: number;
  /** Deleted on the server (with --delete), including ones archived by earlier runs. */
  deleted: number;
  /** Manifest lines re-created from files of an interrupted run. */
  recovered: number;
  /** Torn tmp/ files of an interrupted run, removed. */
  removedTmp: number;
  failed: ArchiveFailure[];
  /** Folders and messages whose local path would not be safe (safe-path.ts): not archived, counted. */
  refused: ArchiveFailure[];
  seconds: number;
}

export function emptyReport(source: string): ArchiveReport {
  return { source, folders: [], seen: 0, archived: 0, bytes: 0, alreadyArchived: 0, deleted: 0, recovered: 0, removedTmp: 0, failed: [], refused: [], seconds: 0 };
}
