/**
 * The POP3 maildrop: the messages the account's POP3 policy offers to this
 * device, as they were at login (RFC 1939 §5 — message numbers 1..n stay
 * fixed for the whole session), with per-session deletion and retrieval
 * marks. Messages another session (IMAP) expunges meanwhile keep their
 * number; they are detected when their bytes are needed.
 */
import type { Readable } from 'node:stream';
import type { MailDomain } from '../domain/mail-domain.js';
import { pop3MaildropContents, type Pop3Policy, type Pop3Touched } from '../domain/pop3-policy.js';
import type { AccountId, Mailbox } from '../store/types.js';

export interface MaildropMessage {
  readonly mailbox: Mailbox;
  readonly uid: number;
  readonly uidl: string;
  readonly blobId: string;
  /** Exact octets as RETR sends them (CRLF line ends), as the store keeps them: STAT and LIST read no body. */
  readonly wireSize: number;
  deleted: boolean;
  /** RETR sent it whole in this session: $POP3Downloaded at QUIT. */
  retrieved: boolean;
}

export type MessageLookup = { message: MaildropMessage } | { error: string; deleted: boolean };

export class Maildrop {
  private constructor(
    private readonly domain: MailDomain,
    private readonly messages: MaildropMessage[],
  ) {}

  /** Takes the snapshot of what the policy offers (domain/pop3-policy.ts). Call with the maildrop lock held. */
  static async open(domain: MailDomain, accountId: AccountId, device: string, policy: Pop3Policy): Promise<Maildrop> {
    const messages = (await pop3MaildropContents(domain, accountId, device, policy)).map(
      ({ mailbox, message }): MaildropMessage => ({
        mailbox,
        uid: message.uid,
        uidl: message.uidl,
        blobId: message.blobId,
        wireSize: message.pop3Size,
        deleted: false,
        retrieved: false,
      }),
    );
    return new Maildrop(domain, messages);
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
    const [still] = await this.domain.messagesByUid(message.mailbox, [message.uid]);
    if (!still) return null;
    return this.domain.openBody(still);
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
