/**
 * Email/set (RFC 8621 §4.6) as IMAP operations through MailDomain, so every
 * IMAP session hears of it as of any other client's change:
 *
 * - keywords: STORE on every copy of the Email (\Deleted is left as it is);
 * - mailboxIds: MOVE / COPY / EXPUNGE of the copies (a copy keeps the EMAILID);
 * - destroy: EXPUNGE of every copy.
 *
 * Creating an Email from properties is not offered yet (Email/import stores a
 * message as uploaded); such a create is answered `forbidden`.
 */
import type { FlagOperation, Mailbox } from '../../store/types.js';
import type { JmapArgs, JmapContext, MethodSpec } from './api.js';
import { requireAccount, resolveId, setArgs, setResponse } from './args.js';
import { MAIL } from './capabilities.js';
import { MethodError, type SetError, setErrorFor } from './errors.js';
import { byEmailId, type EmailRow, flagOfKeyword } from './email-model.js';
import { mailboxIndex } from './email.js';

type Index = Awaited<ReturnType<typeof mailboxIndex>>;

interface FlagChange {
  op: FlagOperation;
  flags: string[];
}

/** The flag changes a patch asks for; a SetError when a keyword is not valid. */
function flagChanges(patch: Record<string, unknown>): FlagChange[] | SetError {
  const invalid: SetError = { type: 'invalidProperties', properties: ['keywords'] };
  if ('keywords' in patch) {
    const value = patch.keywords;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid;
    const flags: string[] = [];
    for (const [keyword, on] of Object.entries(value)) {
      const flag = flagOfKeyword(keyword);
      if (flag === null || on !== true) return invalid;
      flags.push(flag);
    }
    return [{ op: 'replace', flags }];
  }
  const add: string[] = [];
  const remove: string[] = [];
  for (const [key, on] of Object.entries(patch)) {
    if (!key.startsWith('keywords/')) continue;
    const flag = flagOfKeyword(key.slice('keywords/'.length).replace(/~1/g, '/').replace(/~0/g, '~'));
    if (flag === null || (on !== true && on !== null)) return { type: 'invalidPatch', properties: [key] };
    (on === true ? add : remove).push(flag);
  }
  return [...(add.length ? [{ op: 'add' as const, flags: add }] : []), ...(remove.length ? [{ op: 'remove' as const, flags: remove }] : [])];
}

/** The mailboxes the Email should be in after the patch (row ids), or null when the patch does not touch them. */
function targetMailboxes(patch: Record<string, unknown>, current: Set<number>, index: Index, ctx: JmapContext): Set<number> | SetError | null {
  const invalid: SetError = { type: 'invalidProperties', properties: ['mailboxIds'] };
  const idOf = (objectId: string) => index.byObjectId.get(resolveId(objectId, ctx))?.id;
  if ('mailboxIds' in patch) {
    const value = patch.mailboxIds;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid;
    const out = new Set<number>();
    for (const [objectId, on] of Object.entries(value)) {
      const id = idOf(objectId);
      if (id === undefined || on !== true) return invalid;
      out.add(id);
    }
    return out;
  }
  const keys = Object.keys(patch).filter((k) => k.startsWith('mailboxIds/'));
  if (keys.length === 0) return null;
  const out = new Set(current);
  for (const key of keys) {
    const id = idOf(key.slice('mailboxIds/'.length));
    if (id === undefined || (patch[key] !== true && patch[key] !== null)) return { type: 'invalidPatch', properties: [key] };
    if (patch[key] === true) out.add(id);
    else out.delete(id);
  }
  return out;
}

async function updateEmail(rows: EmailRow[], patch: Record<string, unknown>, index: Index, ctx: JmapContext): Promise<SetError | null> {
  const unknown = Object.keys(patch).filter((k) => !/^(keywords|mailboxIds)(\/|$)/.test(k));
  if (unknown.length > 0) return { type: 'invalidProperties', properties: unknown };
  const changes = flagChanges(patch);
  if (!Array.isArray(changes)) return changes;
  const target = targetMailboxes(patch, new Set(rows.map((r) => r.mailboxId)), index, ctx);
  if (target !== null && !(target instanceof Set)) return target;
  if (target && target.size === 0) return { type: 'invalidProperties', description: 'An Email is in at least one Mailbox', properties: ['mailboxIds'] };
  const mailboxOf = (id: number): Mailbox => index.byId.get(id)!;

  for (const change of changes) {
    for (const [mailboxId, uids] of uidsByMailbox(rows)) {
      if (change.op !== 'replace') {
        await ctx.domain.updateFlags(mailboxOf(mailboxId), uids, change.op, change.flags);
        continue;
      }
      // A replace keeps \Deleted: JMAP does not see it, so it cannot mean to clear it.
      for (const row of rows.filter((r) => r.mailboxId === mailboxId)) {
        const deleted = row.message.flags.filter((f) => f.toLowerCase() === '\\deleted');
        await ctx.domain.updateFlags(mailboxOf(mailboxId), [row.message.uid], 'replace', [...change.flags, ...deleted]);
      }
    }
  }

  if (target) {
    const add = [...target].filter((id) => !rows.some((r) => r.mailboxId === id));
    const removed = rows.filter((r) => !target.has(r.mailboxId));
    let source = rows.find((r) => target.has(r.mailboxId)) ?? null;
    // A move where possible: one transaction, and IMAP clients see a MOVE, not a copy then an expunge.
    if (add.length > 0 && removed.length > 0) {
      const from = removed.shift()!;
      const result = await ctx.domain.moveMessages(mailboxOf(from.mailboxId), [from.message.uid], mailboxOf(add[0]!));
      const newUid = result.uidMap[0]?.[1];
      if (newUid !== undefined) source ??= { mailboxId: add[0]!, message: { ...from.message, uid: newUid } };
      add.shift();
    }
    for (const to of add) {
      const from = source ?? rows[0]!;
      await ctx.domain.copyMessages(mailboxOf(from.mailboxId), [from.message.uid], mailboxOf(to));
    }
    for (const row of removed) await ctx.domain.expungeMessages(mailboxOf(row.mailboxId), [row.message.uid]);
  }
  return null;
}

function uidsByMailbox(rows: EmailRow[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of rows) out.set(r.mailboxId, [...(out.get(r.mailboxId) ?? []), r.message.uid]);
  return out;
}

async function emailSet(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const { create, update, destroy } = setArgs(args);
  const before = await mailboxIndex(ctx);
  if (typeof args.ifInState === 'string' && args.ifInState !== before.state) throw new MethodError('stateMismatch');
  const notCreated: Record<string, SetError> = {};
  for (const creationId of Object.keys(create)) {
    notCreated[creationId] = { type: 'forbidden', description: 'Creating an Email from properties is not supported; use Email/import' };
  }
  const ids = [...Object.keys(update), ...destroy].map((id) => resolveId(id, ctx));
  const rows = byEmailId(await ctx.domain.messagesByEmailId(ctx.account.id, [...new Set(ids)]));

  const updated: Record<string, null> = {};
  const notUpdated: Record<string, SetError> = {};
  for (const [rawId, patch] of Object.entries(update)) {
    const found = rows.get(resolveId(rawId, ctx));
    if (!found) {
      notUpdated[rawId] = { type: 'notFound' };
      continue;
    }
    try {
      const error = await updateEmail(found, patch, before, ctx);
      if (error) notUpdated[rawId] = error;
      else updated[rawId] = null;
    } catch (err) {
      notUpdated[rawId] = setErrorFor(err);
    }
  }

  const destroyed: string[] = [];
  const notDestroyed: Record<string, SetError> = {};
  for (const rawId of destroy) {
    const id = resolveId(rawId, ctx);
    // Read again: an update in this call may have moved the copies.
    const found = (await ctx.domain.messagesByEmailId(ctx.account.id, [id])).filter((r) => before.byId.has(r.mailboxId));
    if (found.length === 0) {
      notDestroyed[rawId] = { type: 'notFound' };
      continue;
    }
    try {
      for (const [mailboxId, uids] of uidsByMailbox(found)) await ctx.domain.expungeMessages(before.byId.get(mailboxId)!, uids);
      destroyed.push(id);
    } catch (err) {
      notDestroyed[rawId] = setErrorFor(err);
    }
  }
  const after = await mailboxIndex(ctx);
  return setResponse(ctx, before.state, after.state, { updated, destroyed, notCreated, notUpdated, notDestroyed, created: {} });
}

export const emailSetMethods: Record<string, MethodSpec> = {
  'Email/set': { capability: MAIL, run: emailSet },
};
