/**
 * Appends of whole Buffers (MailStore.appendMessages), shared by every
 * backend: each body goes to the blob store first (hashed and synced outside
 * any database lock, concurrently with other appends), then the metadata is
 * committed as a staged append, and the bodies are released whatever happened.
 * Metadata commits in call order, as when appends were synchronous: appends
 * started one after another get ascending UIDs.
 */
import type { BlobStore } from './blob-store.js';
import type { NewMessage, StagedMessage } from './types.js';

export class BufferedAppends {
  private tail: Promise<void> = Promise.resolve();

  /**
   * `orderedOnCall`: the backend fixes the commit order when `commit` is
   * called (the SQLite thread takes requests in posting order), so the next
   * append may start at once and share the commit; otherwise the next one
   * waits until this one has committed.
   */
  constructor(
    private readonly blobs: Pick<BlobStore, 'put'>,
    private readonly release: (staged: StagedMessage['staged'][]) => Promise<void>,
    private readonly orderedOnCall: boolean,
  ) {}

  async run<R>(messages: NewMessage[], commit: (staged: StagedMessage[]) => Promise<R>): Promise<R> {
    const previous = this.tail;
    let next!: () => void;
    this.tail = new Promise((resolve) => (next = resolve));
    const staged: StagedMessage[] = [];
    try {
      for (const { content, ...rest } of messages) {
        if (!Buffer.isBuffer(content)) throw new TypeError('NewMessage.content must be a Buffer');
        staged.push({ ...rest, staged: await this.blobs.put(content) });
      }
      await previous;
      const result = commit(staged);
      if (this.orderedOnCall) next();
      return await result;
    } finally {
      next();
      await this.release(staged.map((m) => m.staged));
    }
  }
}
