/** Where an import writes: an IMAP server, or (--direct) a local Mailstead store. */
import type { TargetFolder } from './mapping.js';

export interface OutgoingMessage {
  /** CRLF line ends. */
  content: Buffer;
  flags: string[];
  internalDate: Date;
  /** POP3 UIDL to keep; honoured only by the direct target. */
  uidl: string | null;
}

/** A message already in a target folder, as the duplicate check sees it. */
export interface PresentMessage {
  id: number;
  size: number;
  /** Message-ID with angle brackets, or null; null also when the target cannot tell cheaply. */
  messageId: string | null;
}

export interface ImportTarget {
  readonly description: string;
  /** Every folder, "/"-delimited, with its RFC 6154 special use. */
  folders(): Promise<TargetFolder[]>;
  /** Creates the folder (and subscribes to it) when missing; true when created. */
  ensureFolder(name: string): Promise<boolean>;
  /** What the folder holds now (empty when it does not exist). */
  present(folder: string): Promise<PresentMessage[]>;
  /** The bytes of a present message, for the content-hash comparison. */
  contentOf(folder: string, id: number): Promise<Buffer>;
  /** Appends messages in order; resolves when the target has committed them. */
  append(folder: string, messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}
