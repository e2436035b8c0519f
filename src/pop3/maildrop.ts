/**
 * The POP3 maildrop: the messages the account's POP3 policy offers to this
 * device, as they were at login (RFC 1939 §5 — message numbers 1..n stay
 * fixed for the whole session), with per-session deletion and retrieval
 * marks. Messages another session (IMAP) expunges meanwhile keep their
 * number; they are detected when their bytes are needed.
 *
 * That check asks the store only after the bus said one of the maildrop's
 * mailboxes changed (the domain signals every change after its commit), and
 * then once for all the messages of that mailbox: a RETR or TOP of an
 * unchanged maildrop costs no store round trip.
 */
import type { Readable } from 'node:stream';
import type { MailDomain } from '../domain/mail-domain.js';
import { pop3MaildropContents, type Pop3Policy, type Pop3Touched } from '../domain/pop3-policy.js';
import type { AccountId, Mailbox, MailboxId } from '../store/types.js';

export interface MaildropMessage {
  readonly mailbox: Mailbox;
  readonly uid: number;
  readonly uidl: string;
  readonly blobId: string;
  /** Stored octets (the blob's size). */
  readonly size: number;
  /** Exact octets as RETR sends them (CRLF line ends), as the store keeps them: STAT and LIST read no body. */
  readonly wireSize: number;
  deleted: boolean;
  /** RETR sent it whole in this session: $POP3Downloaded at QUIT. */
  retrieved: boolean;
}

/** UIDs per store read when a changed mailbox is checked again. */
const CHECK_BATCH = 1000;

export type MessageLookup = { message: MaildropMessage } | { error: string; deleted: boolean };

export class Maildrop {
  /** Mailboxes the bus said changed since their messages were last checked against the store. */
  private readonly changed = new Set<MailboxId>();
  /** Messages found expunged (or moved) by another session. */
  private readonly gone = new Set<MaildropMessage>();
  private messages: MaildropMessage[] = [];
  /** The bytes of the message a RETR or TOP is expected to ask for next (readAhead), at most one. */
  private ahead: { message: MaildropMessage; bytes: Promise<Buffer | null> } | null = null;
  private unsubscribe: (() => void) | null;

  private constructor(private readonly domain: MailDomain, accountId: AccountId) {
    this.unsubscribe = domain.bus.subscribe(accountId, (signal) => this.changed.add(signal.mailboxId));
  }

  /** Takes the snapshot of what the policy offers (domain/pop3-policy.ts). Call with the maildrop lock held; close() when done. */
  static async open(domain: MailDomain, accountId: AccountId, device: string, policy: Pop3Policy): Promise<Maildrop> {
    // Listening starts before the snapshot, so a change made while it is taken is not missed.
    const maildrop = new Maildrop(domain, accountId);
    try {
      maildrop.messages = (await pop3MaildropContents(domain, accountId, device, policy)).map(
        ({ mailbox, message }): MaildropMessage => ({
          mailbox,
          uid: message.uid,
          uidl: message.uidl,
          blobId: message.blobId,
          size: message.size,
          wireSize: message.pop3Size,
          deleted: false,
          retrieved: false,
        }),
      );
    } catch (err) {
      maildrop.close();
      throw err;
    }
    return maildrop;
  }

  /** Stops listening for changes (the session ended). Idempotent. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.ahead = null;
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
   * RFC 1939 §5 LIST/STAT want the exact size. Mail imported with bare LF
   * grows on the wire, so the store keeps the wire size from ingest
   * (Dovecot's "virtual size").
   */
  async sizeOf(message: MaildropMessage): Promise<number> {
    return message.wireSize;
  }

  async stat(): Promise<{ count: number; octets: number }> {
    let octets = 0;
    const live = this.live();
    for (const { message } of live) octets += await this.sizeOf(message);
    return { count: live.length, octets };
  }

  /** The message bytes as a stream, or null when another session expunged (or moved) it since the snapshot. */
  async open(message: MaildropMessage): Promise<Readable | null> {
    if (!(await this.present(message))) return null;
    return this.domain.openBody(message);
  }

  /** The message bytes whole (for a small message: one read, one write), or null as for open(). */
  async read(message: MaildropMessage): Promise<Buffer | null> {
    const ahead = this.ahead;
    this.ahead = null;
    // The read starts at once; read ahead or not, the message must still be there now (its bytes, content-addressed, never change).
    const bytes = ahead?.message === message ? ahead.bytes : this.domain.readBody(message);
    bytes.catch(() => {});
    if (!(await this.present(message))) return null;
    return bytes;
  }

  /**
   * Starts reading a message the client is likely to ask for next (the one
   * after a RETR or TOP: clients download in order), so that its file read
   * overlaps the client's round trip. One at a time; a read not used is dropped.
   */
  readAhead(message: MaildropMessage): void {
    if (this.ahead?.message === message) return;
    const bytes = this.domain.readBody(message);
    // Taken by read(), or never: a failure must not go unhandled meanwhile.
    bytes.catch(() => {});
    this.ahead = { message, bytes };
  }

  /** The message after `msg` that is not deleted, if any. */
  nextLive(msg: number): MaildropMessage | undefined {
    for (let i = msg; i < this.messages.length; i++) if (!this.messages[i]!.deleted) return this.messages[i];
    return undefined;
  }

  /** False when another session expunged (or moved) the message since the snapshot. */
  private async present(message: MaildropMessage): Promise<boolean> {
    const mailbox = message.mailbox;
    if (this.changed.has(mailbox.id)) {
      // Cleared before the read: a change signalled while it runs marks the mailbox again.
      this.changed.delete(mailbox.id);
      const mine = this.messages.filter((m) => m.mailbox.id === mailbox.id && !this.gone.has(m));
      for (let i = 0; i < mine.length; i += CHECK_BATCH) {
        const batch = mine.slice(i, i + CHECK_BATCH);
        const still = new Set((await this.domain.messagesByUid(mailbox, batch.map((m) => m.uid))).map((m) => m.uid));
        for (const m of batch) if (!still.has(m.uid)) this.gone.add(m);
      }
    }
    return !this.gone.has(message);
  }

  /** Messages marked by DELE, for the UPDATE state. */
  deleted(): Pop3Touched[] {
    return this.messages.filter((m) => m.deleted).map(touched);
  }

  /** Messages sent whole by RETR (deleted or not), for the UPDATE state. */
  retrieved(): Pop3Touched[] {
    return this.messages.filter((m) => m.retrieved).map(touched);
  }

  /**
   * RSET: unmark every message (RFC 1939 §5). Retrieval marks go too, as in
   * Dovecot: read-only clients (archivers, speed tests) send RSET before QUIT
   * so that their session changes nothing, not even $POP3Downloaded.
   */
  reset(): void {
    for (const m of this.messages) {
      m.deleted = false;
      m.retrieved = false;
    }
  }
}

function touched(m: MaildropMessage): Pop3Touched {
  return { mailbox: m.mailbox, uid: m.uid, uidl: m.uidl };
}
