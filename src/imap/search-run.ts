/**
 * Running a search program over the selected mailbox: shared by SEARCH,
 * SORT and THREAD. Metadata is read in batches; message bytes only for keys
 * that need them (HEADER, BODY, TEXT, SENT*), one message at a time, and
 * then only the header whole: bodies are searched as streams.
 */
import type { SearchKey } from '../protocol/imap/types.js';
import type { MessageMeta } from '../store/types.js';
import { chunks, META_BATCH, messageContent, metasByUid, type MessageContent } from './message-loader.js';
import { matches, needsContent } from './search-eval.js';
import type { CommandContext } from './state.js';
import { selectedState } from './state.js';
import { recentUids } from './recent.js';

export interface SearchHit {
  seq: number;
  meta: MessageMeta;
}

/** The messages matching `key`, ascending by sequence number; messages expunged meanwhile are left out. */
export async function runSearch(ctx: CommandContext, key: SearchKey): Promise<SearchHit[]> {
  const { view } = selectedState(ctx);
  const domain = ctx.imap.domain;
  const maxSeq = view.exists;
  const maxUid = maxSeq ? view.uidAt(maxSeq) : 0;
  const withContent = needsContent(key);
  const savedUids = new Set(view.savedUids);
  const recent = recentUids(ctx);
  const now = new Date();
  const hits: SearchHit[] = [];
  const live: number[] = [];
  for (let seq = 1; seq <= maxSeq; seq++) if (!view.isExpunged(seq)) live.push(seq);
  for (const batch of chunks(live, META_BATCH)) {
    const metas = await metasByUid(domain, view.mailbox, batch.map((seq) => view.uidAt(seq)));
    for (const seq of batch) {
      const meta = metas.get(view.uidAt(seq));
      if (!meta) continue;
      let loaded: Promise<MessageContent | null> | null = null;
      const candidate = {
        seq,
        meta,
        maxSeq,
        maxUid,
        savedUids,
        recentUids: recent,
        now,
        content: () => (loaded ??= withContent ? messageContent(domain, meta) : Promise.resolve(null)),
      };
      if (await matches(key, candidate)) hits.push({ seq, meta });
    }
  }
  return hits;
}
