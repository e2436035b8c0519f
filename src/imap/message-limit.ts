/**
 * MESSAGELIMIT (RFC 9738): the most messages one FETCH, SEARCH, STORE, MOVE or
 * UID EXPUNGE processes, announced as MESSAGELIMIT=<n>. A command naming more
 * is not refused: it processes the <n> messages with the highest UIDs and its
 * tagged OK says so with [MESSAGELIMIT <n> <lowest UID processed>], so the
 * client repeats it for the UIDs below. COPY and APPEND are atomic: over the
 * limit they store nothing and answer NO [MESSAGELIMIT <n>].
 *
 * Done as a rewrite of the command before its handler runs (the set, or for
 * SEARCH a UID key ANDed to the program), so the handlers stay as they are.
 */
import { limits } from '../protocol/limits.js';
import type { ImapCommand, ResponseCode, SearchKey, SeqRange } from '../protocol/imap/types.js';
import type { CommandSpec } from './commands/registry.js';
import type { CommandContext, Completion } from './state.js';
import { no } from './state.js';
import type { MailboxView } from './view.js';

export function messageLimitOf(ctx: Pick<CommandContext, 'imap'>): number {
  return ctx.imap.messageLimit ?? limits.imapMessageLimit;
}

/** Runs the command within the limit; the completion carries MESSAGELIMIT when only part was processed. */
export async function runWithinMessageLimit(spec: CommandSpec, command: ImapCommand, ctx: CommandContext): Promise<Completion> {
  const limit = messageLimitOf(ctx);
  const plan = limitCommand(command, ctx, limit);
  if (!plan) return spec.run(command, ctx);
  if ('refuse' in plan) return plan.refuse;
  const done = await spec.run(plan.command, ctx);
  if (done.status === 'BAD') return done;
  const code: ResponseCode = { name: 'MESSAGELIMIT', value: { atom: `${limit} ${plan.lowestUid}` } };
  if (done.status === 'OK' && !done.code) return { ...done, code };
  // The tagged response carries another code (COPYUID, MODIFIED, EXPUNGEISSUED): say it untagged first.
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code, text: 'Only the messages with the highest UIDs were processed' });
  return done;
}

type Plan = { command: ImapCommand; lowestUid: number } | { refuse: Completion };

function limitCommand(command: ImapCommand, ctx: CommandContext, limit: number): Plan | null {
  const atomic = (what: string): Plan => ({
    refuse: no(`${what} of more than ${limit} messages is not done; nothing was stored`, { name: 'MESSAGELIMIT', value: { atom: String(limit) } }),
  });
  if (command.name === 'APPEND') return command.messages.length > limit ? atomic('APPEND') : null;
  const s = ctx.state;
  if (s.kind !== 'selected') return null;
  const view = s.view;
  // No command can name more messages than the mailbox holds.
  if (view.exists <= limit) return null;
  switch (command.name) {
    case 'FETCH':
    case 'STORE':
    case 'MOVE':
    case 'COPY':
    case 'UID EXPUNGE': {
      const uid = command.name === 'UID EXPUNGE' || command.uid;
      const seqs = view.resolve(command.set, uid);
      // An invalid set: the handler answers BAD.
      if (!seqs) return null;
      const live = seqs.filter((seq) => !view.isExpunged(seq));
      if (live.length <= limit) return null;
      if (command.name === 'COPY') return atomic('COPY');
      const kept = live.slice(live.length - limit);
      const set = toRanges(uid ? kept.map((seq) => view.uidAt(seq)) : kept);
      return { command: { ...command, set }, lowestUid: view.uidAt(kept[0]!) };
    }
    case 'SEARCH': {
      const live = candidates(command.key, view);
      if (live.length <= limit) return null;
      const kept = live.slice(live.length - limit);
      const only: SearchKey = { type: 'uid', set: toRanges(kept.map((seq) => view.uidAt(seq))) };
      return { command: { ...command, key: { type: 'and', keys: [only, command.key] } }, lowestUid: view.uidAt(kept[0]!) };
    }
    default:
      return null;
  }
}

/**
 * The messages a search program can match, ascending: those of every UID or
 * sequence set at its top level (the way a client names the part of the
 * mailbox it searches), else all of them.
 */
function candidates(key: SearchKey, view: MailboxView): number[] {
  const top = key.type === 'and' ? key.keys : [key];
  let seqs: number[] | null = null;
  for (const k of top) {
    if (k.type !== 'uid' && k.type !== 'seq') continue;
    const these = view.resolve(k.set, k.type === 'uid');
    if (!these) continue;
    if (seqs === null) seqs = these;
    else {
      const keep = new Set(these);
      seqs = seqs.filter((seq) => keep.has(seq));
    }
  }
  if (seqs === null) {
    seqs = [];
    for (let seq = 1; seq <= view.exists; seq++) seqs.push(seq);
  }
  return seqs.filter((seq) => !view.isExpunged(seq));
}

/** Ascending numbers as ranges (runs collapse, so the set stays short). */
export function toRanges(nums: readonly number[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const n of nums) {
    const last = out[out.length - 1];
    if (last && last.to === n - 1) last.to = n;
    else out.push({ from: n, to: n });
  }
  return out;
}
