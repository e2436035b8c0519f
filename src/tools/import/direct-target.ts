/**
 * --direct --data-dir DIR: a local Mailstead store as import target, through
 * the public entry points (openDataDir, MailDomain; the ForwardingBus wakes
 * a running server's IDLE sessions). NewMessage.uidl keeps a message's POP3
 * UIDL, so POP3 clients that knew the old server do not download it again.
 */
import { MailDomain } from '../../domain/mail-domain.js';
import { openDataDir } from '../../net/data-dir.js';
import type { NotifyBus } from '../../notify/bus.js';
import { PgNotifyBus } from '../../notify/pg-bus.js';
import { ForwardingBus } from '../../notify/process-bridge.js';
import { openPostgresStore } from '../../store/postgres/index.js';
import type { Account, MailStore } from '../../store/types.js';
import { ToolError } from '../errors.js';
import type { TargetFolder } from './mapping.js';
import type { ImportTarget, OutgoingMessage, PresentMessage } from './target.js';

export class DirectTarget implements ImportTarget {
  private constructor(
    private readonly store: MailStore,
    private readonly bus: NotifyBus,
    private readonly domain: MailDomain,
    private readonly account: Account,
    readonly description: string,
  ) {}

  /** `storeUrl`: a PostgreSQL store (--store) instead of the data directory's; its NOTIFY bus wakes every node. */
  static async open(dataDir: string, address: string, storeUrl?: string): Promise<DirectTarget> {
    let store: MailStore;
    let bus: NotifyBus;
    try {
      store = storeUrl ? await openPostgresStore(storeUrl) : await openDataDir(dataDir);
    } catch (err) {
      throw new ToolError(`cannot open the store${storeUrl ? '' : ` in ${dataDir}`}: ${(err as Error).message}`, 'local');
    }
    try {
      bus = storeUrl ? await PgNotifyBus.open({ url: storeUrl, publishOnly: true }) : new ForwardingBus(dataDir);
    } catch (err) {
      await store.close();
      throw new ToolError(`cannot reach the store: ${(err as Error).message}`, 'local');
    }
    const domain = new MailDomain(store, bus);
    try {
      const account = await domain.requireAccount(address);
      return new DirectTarget(store, bus, domain, account, `${account.address} in ${storeUrl ? 'the PostgreSQL store' : dataDir}`);
    } catch (err) {
      await bus.close();
      await store.close();
      throw new ToolError((err as Error).message, 'usage');
    }
  }

  async folders(): Promise<TargetFolder[]> {
    return (await this.store.listMailboxes(this.account.id)).map((m) => ({ name: m.name, specialUse: m.specialUse }));
  }

  async ensureFolder(name: string): Promise<boolean> {
    if (await this.domain.getMailbox(this.account.id, name)) return false;
    await this.domain.createMailbox(this.account.id, name);
    await this.domain.setSubscribed(this.account.id, name, true);
    return true;
  }

  async present(folder: string): Promise<PresentMessage[]> {
    const mailbox = await this.domain.getMailbox(this.account.id, folder);
    if (!mailbox) return [];
    // The store lists sizes cheaply; Message-IDs would mean reading every blob, so the
    // content hash alone decides among messages of equal size.
    return (await this.store.listMessages(mailbox.id)).map((m) => ({ id: m.uid, size: m.size, messageId: null }));
  }

  async contentOf(folder: string, uid: number): Promise<Buffer> {
    const mailbox = await this.domain.requireMailbox(this.account.id, folder);
    const [meta] = await this.store.getMessages(mailbox.id, [uid]);
    const content = meta ? await this.store.readBlob(meta.blobId) : null;
    if (!content) throw new ToolError(`cannot read UID ${uid} of ${folder}`, 'local');
    return content;
  }

  async append(folder: string, messages: OutgoingMessage[]): Promise<void> {
    const mailbox = await this.domain.requireMailbox(this.account.id, folder);
    for (const m of messages) {
      await this.domain.ingest(mailbox, { content: m.content, flags: m.flags, internalDate: m.internalDate, uidl: m.uidl ?? undefined });
    }
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.store.close();
  }
}
