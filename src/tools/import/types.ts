/** One message of an import source, read lazily so large sources stay out of memory. */
export interface ImportItem {
  /** Source folder, levels joined with "/", "INBOX" for the top. */
  folder: string;
  /** Where it came from, for the report: "mail/cur/1700000000.x:2,S", "inbox.mbox#12". */
  label: string;
  /** The message bytes as stored in the source (line ends not yet normalised). */
  load(): Promise<Buffer>;
  flags: string[];
  /** The INTERNALDATE to keep, when the source records one; else taken from the header. */
  internalDate: Date | null;
  /** POP3 UIDL to keep with --direct (archive manifest); an X-UIDL header is read at load time. */
  uidl: string | null;
}

/** An entry of a source that was not imported because its path is not safe (safe-path.ts). */
export interface Refusal {
  /** The entry as the source names it, control characters escaped. */
  message: string;
  reason: string;
}

export interface ImportSource {
  /** "maildir", "mbox", "eml", "archive". */
  kind: string;
  path: string;
  items: ImportItem[];
  /** Entries refused while listing the source: a path out of it, a NUL, a symbolic link out. */
  refused: Refusal[];
}
