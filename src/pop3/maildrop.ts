/**
 * The POP3 maildrop: the messages the account's POP3 policy offers to this
 * device, as they were at login (RFC 1939 §5 — message numbers 1..n stay
 * fixed for the whole session), with per-session deletion and retrieval
 * marks. Messages another session (IMAP) expunges meanwhile keep their
 * number; they are detected when their bytes are needed.
 */
import type { MailDomain } from '../domain/mail-domain.js';
import { ACCOUNT_WIDE_DEVICE, pop3Mailboxes, type Pop3Policy, type Pop3Touched } from '../domain/pop3-policy.js';
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

  /**
   * Takes the snapshot. Call with the maildrop lock held. What the policy's
   * scope and start date offer, minus what this device (or the account-wide
   * untagged login) deleted in an earlier session.
   */
  static async open(domain: MailDomain, accountId: AccountId, device: string, policy: Pop3Policy): Promise<Maildrop> {
    const devices = device === ACCOUNT_WIDE_DEVICE ? [ACCOUNT_WIDE_DEVICE] : [ACCOUNT_WIDE_DEVICE, device];
    const hidden = new Set(await domain.store.listPop3Deleted(accountId, devices));
    const since = policy.since?.getTime() ?? null;
    const seen = new Set<string>();
    const messages: Array<MaildropMessage & { date: number }> = [];
    for (const mailbox of await pop3Mailboxes(domain, accountId, policy.scope)) {
      for (const m of await domain.store.listMessages(mailbox.id)) {
        if (hidden.has(m.uidl) || (since !== null && m.internalDate.getTime() < since)) continue;
        // UIDLs must be unique in a maildrop (RFC 1939 §7); across folders an imported one could repeat.
        if (seen.has(m.uidl)) continue;
        seen.add(m.uidl);
        messages.push({
          mailbox,
          uid: m.uid,
          uidl: m.uidl,
          blobId: m.blobId,
          wireSize: m.pop3Size,
          deleted: false,
          retrieved: false,
          date: m.internalDate.getTime(),
        });
      }
    }
    // Across folders, arrival order is what a POP3 client expects (INBOX alone is in UID order already).
    if (policy.scope === 'all') messages.sort((a, b) => a.date - b.date);
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

  /** The message bytes, or null when another session expunged (or moved) it since the snapshot. */
  async read(message: MaildropMessage): Promise<Buffer | null> {
    const still = await this.domain.store.getMessages(message.mailbox.id, [message.uid]);
    if (still.length === 0) return null;
    return this.domain.store.readBlob(message.blobId);
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
