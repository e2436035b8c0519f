/**
 * An IMAP server as import target. With MULTIAPPEND (RFC 3502) a batch of
 * messages is one APPEND command and one commit; without it, one APPEND per
 * message. imapflow sends LITERAL+ (RFC 7888) non-synchronising literals when
 * the server offers them, saving a round trip per message.
 */
import type { ImapFlow } from 'imapflow';
import { encodePath, formatDateTime, normalizePath } from 'imapflow/lib/tools.js';
import { hasCapability, openImap, type TrustOptions } from '../archive/connect.js';
import { ToolError, toToolError } from '../errors.js';
import type { MailUrl } from '../archive/url.js';
import type { TargetFolder } from './mapping.js';
import type { ImportTarget, OutgoingMessage, PresentMessage } from './target.js';

/** imapflow's internal command runner (not in its typings); used only for MULTIAPPEND. */
interface ExecCapable {
  exec(command: string, attributes: unknown[]): Promise<{ next(): void }>;
}

export class ImapTarget implements ImportTarget {
  private delimiter = '/';
  private known: TargetFolder[] | null = null;

  private constructor(
    private readonly client: ImapFlow,
    readonly description: string,
  ) {}

  static async open(url: MailUrl, password: string, trust: TrustOptions): Promise<ImapTarget> {
    const client = await openImap(url, password, trust);
    return new ImapTarget(client, `${url.account} (port ${url.port})`);
  }

  get offersMultiappend(): boolean {
    return hasCapability(this.client, 'MULTIAPPEND');
  }

  async folders(): Promise<TargetFolder[]> {
    if (this.known) return this.known;
    const list = await this.client.list();
    this.delimiter = list.find((m) => m.delimiter)?.delimiter ?? '/';
    this.known = list
      .filter((m) => !m.flags.has('\\Noselect') && !m.flags.has('\\NonExistent'))
      .map((m) => ({ name: this.toCanonical(m.path), specialUse: m.specialUse ?? null }));
    return this.known;
  }

  async ensureFolder(name: string): Promise<boolean> {
    const folders = await this.folders();
    if (folders.some((f) => f.name === name || (name === 'INBOX' && f.name.toUpperCase() === 'INBOX'))) return false;
    const path = this.toServer(name);
    try {
      await this.client.mailboxCreate(path);
      await this.client.mailboxSubscribe(path).catch(() => undefined);
    } catch (err) {
      throw toToolError(err, `cannot create folder "${name}"`);
    }
    folders.push({ name, specialUse: null });
    return true;
  }

  async present(folder: string): Promise<PresentMessage[]> {
    const folders = await this.folders();
    if (!folders.some((f) => f.name === folder)) return [];
    const lock = await this.client.getMailboxLock(this.toServer(folder), { readOnly: true });
    try {
      if (!this.client.mailbox || this.client.mailbox.exists === 0) return [];
      const found: PresentMessage[] = [];
      for await (const m of this.client.fetch('1:*', { uid: true, size: true, headers: ['message-id'] }, { uid: true })) {
        const header = m.headers?.toString('latin1') ?? '';
        const id = /^message-id:\s*(.*(?:\r?\n[ \t].*)*)/im.exec(header)?.[1]?.replace(/\r?\n[ \t]/g, ' ').trim();
        found.push({ id: m.uid, size: m.size ?? 0, messageId: id || null });
      }
      return found;
    } finally {
      lock.release();
    }
  }

  async contentOf(folder: string, uid: number): Promise<Buffer> {
    const lock = await this.client.getMailboxLock(this.toServer(folder), { readOnly: true });
    try {
      const m = await this.client.fetchOne(String(uid), { source: true }, { uid: true });
      if (!m || !m.source) throw new ToolError(`cannot read UID ${uid} of ${folder}`, 'protocol');
      return m.source;
    } finally {
      lock.release();
    }
  }

  async append(folder: string, messages: OutgoingMessage[]): Promise<void> {
    const path = this.toServer(folder);
    if (messages.length > 1 && this.offersMultiappend) {
      await this.multiAppend(path, messages);
      return;
    }
    for (const m of messages) await this.client.append(path, m.content, m.flags, m.internalDate);
  }

  /**
   * RFC 3502: APPEND mailbox (flags) "date" {n} ... (flags) "date" {n} ...
   * The server stores all or none, so a failed batch is retried one message
   * at a time by the caller to name the message that was refused.
   */
  private async multiAppend(path: string, messages: OutgoingMessage[]): Promise<void> {
    // The same encoding imapflow's own APPEND uses: namespace prefix, then modified UTF-7 unless UTF8=ACCEPT.
    const attributes: unknown[] = [{ type: 'ATOM', value: encodePath(this.client, normalizePath(this.client, path)) }];
    for (const m of messages) {
      attributes.push(m.flags.map((f) => ({ type: 'ATOM', value: f })));
      attributes.push({ type: 'STRING', value: formatDateTime(m.internalDate) });
      attributes.push({ type: 'LITERAL', value: m.content });
    }
    const response = await (this.client as unknown as ExecCapable).exec('APPEND', attributes);
    response.next();
  }

  async close(): Promise<void> {
    await this.client.logout().catch(() => undefined);
    this.client.close();
  }

  private toServer(name: string): string {
    return name.toUpperCase() === 'INBOX' ? 'INBOX' : name.split('/').join(this.delimiter);
  }

  private toCanonical(path: string): string {
    return path.toUpperCase() === 'INBOX' ? 'INBOX' : path.split(this.delimiter).join('/');
  }
}
