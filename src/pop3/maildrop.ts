/**
 * The POP3 maildrop: INBOX as it was at login (RFC 1939 §5 — message numbers
 * 1..n stay fixed for the whole session), with per-session deletion marks.
 * Messages another session (IMAP) expunges meanwhile keep their number; they
 * are detected when their bytes are needed.
 */
import type { MailDomain } from '../domain/mail-domain.js';
import type { AccountId, Mailbox } from '../store/types.js';
import { wireSize } from '../protocol/pop3/index.js';

export interface MaildropMessage {
  readonly uid: number;
  readonly uidl: string;
  readonly blobId: string;
  /** Size as stored; the fallback when the bytes are gone. */
  readonly storedSize: number;
  /** Exact octets as RETR sends them (CRLF line ends), computed on first need. */
  wireSize: number | null;
  deleted: boolean;
}

export type MessageLookup = { message: MaildropMessage } | { error: string; deleted: boolean };

export class Maildrop {
  private constructor(
    private readonly domain: MailDomain,
    readonly mailbox: Mailbox,
    private readonly messages: MaildropMessage[],
  ) {}

  /** Takes the snapshot. Call with the maildrop lock held. */
  static async open(domain: MailDomain, accountId: AccountId): Promise<Maildrop> {
    const mailbox = await domain.requireMailbox(accountId, 'INBOX');
    const metas = await domain.store.listMessages(mailbox.id);
    const messages = metas.map((m) => ({
      uid: m.uid,
      uidl: m.uidl,
      blobId: m.blobId,
      storedSize: m.size,
      wireSize: null,
      deleted: false,
    }));
    return new Maildrop(domain, mailbox, messages);
  }

  /** Message number -> message; deleted ones are refused (RFC 1939 §5: "may not be referred to"). */
  lookup(msg: number): MessageLookup {
    const message = this.messages[msg - 1];
    if (!message) return { error: 'No such message', deleted: false };
    if (message.deleted) return { error: `Message ${msg} is deleted`, deleted: true };
    return { message };
  }

  /** Non-deleted messages with their numbers, ascending. */
  live(): Array<{ msg: number; message: MaildropMessage }> {
    const out: Array<{ msg: number; message: MaildropMessage }> = [];
    this.messages.forEach((message, i) => {
      if (!message.deleted) out.push({ msg: i + 1, message });
    });
    return out;
  }

  /**
   * RFC 1939 §5 LIST/STAT want the exact size. Stored mail normally has CRLF
   * already, but mail imported with bare LF would grow on the wire, so the
   * size is counted from the bytes once and cached (Dovecot's "virtual size").
   */
  async sizeOf(message: MaildropMessage): Promise<number> {
    if (message.wireSize === null) {
      const bytes = await this.domain.store.readBlob(message.blobId);
      message.wireSize = bytes ? wireSize(bytes) : message.storedSize;
    }
    return message.wireSize;
  }

  async stat(): Promise<{ count: number; octets: number }> {
    let octets = 0;
    const live = this.live();
    for (const { message } of live) octets += await this.sizeOf(message);
    return { count: live.length, octets };
  }

  /** The message bytes, or null when another session expunged it since the snapshot. */
  async read(message: MaildropMessage): Promise<Buffer | null> {
    const still = await this.domain.store.getMessages(this.mailbox.id, [message.uid]);
    if (still.length === 0) return null;
    const bytes = await this.domain.store.readBlob(message.blobId);
    if (bytes && message.wireSize === null) message.wireSize = wireSize(bytes);
    return bytes;
  }

  deletedUids(): number[] {
    return this.messages.filter((m) => m.deleted).map((m) => m.uid);
  }

  /** RSET: unmark every message (RFC 1939 §5). */
  reset(): void {
    for (const m of this.messages) m.deleted = false;
  }
}
