/**
 * Mailbox/get, /changes, /query and /set (RFC 8621 §2) over the account's
 * IMAP mailboxes: a JMAP Mailbox is an IMAP mailbox, its id the RFC 8474
 * MAILBOXID, its name the last level of the IMAP name, its parent the level
 * above. Changes go through MailDomain, so IMAP sessions (and NOTIFY) hear of
 * them as of any other client's.
 *
 * State: a digest of every mailbox's properties, so any change (a message
 * arriving changes totalEmails) moves it. /changes compares with the snapshot
 * this node kept for the old state; an unknown state (too old, or issued by
 * another node of a cluster) answers cannotCalculateChanges and the client
 * fetches the list again, which is small.
 */
import { createHash } from 'node:crypto';
import { HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import type { Mailbox, SpecialUse } from '../../store/types.js';
import type { JmapArgs, JmapContext, MethodSpec } from './api.js';
import { idsArg, isPlainObject, pick, propertiesArg, requireAccount, resolveId, setArgs, setResponse, unsignedArg, integerArg } from './args.js';
import { MAIL } from './capabilities.js';
import { MethodError, type SetError, setErrorFor } from './errors.js';

const PROPERTIES = [
  'id',
  'name',
  'parentId',
  'role',
  'sortOrder',
  'totalEmails',
  'unreadEmails',
  'totalThreads',
  'unreadThreads',
  'myRights',
  'isSubscribed',
] as const;

const ROLES: Record<SpecialUse, string> = {
  '\\Sent': 'sent',
  '\\Drafts': 'drafts',
  '\\Trash': 'trash',
  '\\Junk': 'junk',
  '\\Archive': 'archive',
  '\\All': 'all',
  '\\Flagged': 'flagged',
};

type JmapMailbox = Record<(typeof PROPERTIES)[number], unknown>;

/** The account's mailboxes as JMAP objects, with the state they make. */
export async function mailboxSnapshot(ctx: JmapContext): Promise<{ mailboxes: JmapMailbox[]; byId: Map<string, Mailbox>; state: string }> {
  const list = await ctx.domain.listMailboxes(ctx.account.id);
  const byName = new Map(list.map((m) => [m.name, m]));
  const mailboxes = list.map((m) => toJmap(m, byName));
  const digests = mailboxes.map((m) => [m.id as string, digest(JSON.stringify(m))] as const);
  const state = digest(digests.map(([id, d]) => `${id}:${d}`).join(','));
  snapshots.remember(state, new Map(digests));
  return { mailboxes, byId: new Map(list.map((m) => [m.objectId, m])), state };
}

function toJmap(m: Mailbox, byName: Map<string, Mailbox>): JmapMailbox {
  const cut = m.name.lastIndexOf(HIERARCHY_SEPARATOR);
  const parent = cut >= 0 ? byName.get(m.name.slice(0, cut)) : undefined;
  const inbox = m.name === 'INBOX';
  return {
    id: m.objectId,
    name: cut >= 0 ? m.name.slice(cut + 1) : m.name,
    parentId: parent?.objectId ?? null,
    role: inbox ? 'inbox' : m.specialUse ? ROLES[m.specialUse] : null,
    // RFC 8621 §2: lower sorts first; the inbox leads, then the special folders, then the rest by name.
    sortOrder: inbox ? 0 : m.specialUse ? 10 : 100,
    totalEmails: m.messageCount,
    unreadEmails: m.unseenCount,
    // Threads are not yet computed: each Email counts as its own thread (docs/jmap.md).
    totalThreads: m.messageCount,
    unreadThreads: m.unseenCount,
    myRights: {
      mayReadItems: true,
      mayAddItems: true,
      mayRemoveItems: true,
      maySetSeen: true,
      maySetKeywords: true,
      mayCreateChild: true,
      mayRename: !inbox,
      mayDelete: !inbox,
      maySubmit: false,
    },
    isSubscribed: m.subscribed,
  };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** Recent states of this node and each mailbox's digest in them, for /changes; bounded, oldest first out. */
class Snapshots {
  private readonly byState = new Map<string, Map<string, string>>();
  constructor(private readonly max: number) {}

  remember(state: string, digests: Map<string, string>): void {
    this.byState.delete(state);
    this.byState.set(state, digests);
    if (this.byState.size > this.max) this.byState.delete(this.byState.keys().next().value!);
  }

  get(state: string): Map<string, string> | undefined {
    return this.byState.get(state);
  }
}

const snapshots = new Snapshots(1000);

async function mailboxGet(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const ids = idsArg(args, ctx);
  const properties = propertiesArg(args, PROPERTIES);
  const { mailboxes, state } = await mailboxSnapshot(ctx);
  const byId = new Map(mailboxes.map((m) => [m.id as string, m]));
  const wanted = ids ?? mailboxes.map((m) => m.id as string);
  return {
    accountId: ctx.accountId,
    state,
    list: wanted.filter((id) => byId.has(id)).map((id) => pick(byId.get(id)!, properties)),
    notFound: wanted.filter((id) => !byId.has(id)),
  };
}

async function mailboxChanges(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  if (typeof args.sinceState !== 'string') throw new MethodError('invalidArguments', 'sinceState is required');
  const maxChanges = unsignedArg(args, 'maxChanges', null);
  const { mailboxes, state } = await mailboxSnapshot(ctx);
  const result = { accountId: ctx.accountId, oldState: args.sinceState, newState: state, hasMoreChanges: false, updatedProperties: null };
  if (args.sinceState === state) return { ...result, created: [], updated: [], destroyed: [] };
  const old = snapshots.get(args.sinceState);
  if (!old) throw new MethodError('cannotCalculateChanges');
  const now = snapshots.get(state)!;
  const created = mailboxes.map((m) => m.id as string).filter((id) => !old.has(id));
  const updated = [...now].filter(([id, d]) => old.has(id) && old.get(id) !== d).map(([id]) => id);
  const destroyed = [...old.keys()].filter((id) => !now.has(id));
  // RFC 8620 §5.2: never more than maxChanges; intermediate states are not kept, so the client starts over.
  if (maxChanges !== null && created.length + updated.length + destroyed.length > maxChanges) throw new MethodError('cannotCalculateChanges');
  return { ...result, created, updated, destroyed };
}

type Filter = Record<string, unknown>;

function matches(m: JmapMailbox, filter: Filter): boolean {
  if (typeof filter.operator === 'string') {
    const conditions = Array.isArray(filter.conditions) ? (filter.conditions as Filter[]) : [];
    if (filter.operator === 'AND') return conditions.every((c) => matches(m, c));
    if (filter.operator === 'OR') return conditions.some((c) => matches(m, c));
    if (filter.operator === 'NOT') return !conditions.some((c) => matches(m, c));
    throw new MethodError('unsupportedFilter', 'operator must be AND, OR or NOT');
  }
  for (const [key, value] of Object.entries(filter)) {
    switch (key) {
      case 'parentId':
      case 'role':
      case 'isSubscribed':
        if (m[key] !== value) return false;
        break;
      case 'name':
        if (typeof value !== 'string' || !(m.name as string).toLowerCase().includes(value.toLowerCase())) return false;
        break;
      case 'hasAnyRole':
        if ((m.role !== null) !== value) return false;
        break;
      default:
        throw new MethodError('unsupportedFilter', `Unknown filter property: ${key.slice(0, 100)}`);
    }
  }
  return true;
}

function validFilter(value: unknown, depth = 0): Filter | null {
  if (value === undefined || value === null) return null;
  // Nesting is bounded: a hostile filter cannot exhaust the stack.
  if (!isPlainObject(value) || depth > 10) throw new MethodError('invalidArguments', 'filter must be an object');
  if (Array.isArray(value.conditions)) for (const c of value.conditions) validFilter(c, depth + 1);
  return value;
}

async function mailboxQuery(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const filter = validFilter(args.filter);
  const sort = Array.isArray(args.sort) ? (args.sort as Array<Record<string, unknown>>) : [];
  for (const s of sort) {
    if (!isPlainObject(s) || (s.property !== 'name' && s.property !== 'sortOrder')) throw new MethodError('unsupportedSort');
  }
  const { mailboxes, state } = await mailboxSnapshot(ctx);
  const found = filter ? mailboxes.filter((m) => matches(m, filter)) : [...mailboxes];
  const compare = (a: JmapMailbox, b: JmapMailbox): number => {
    for (const s of sort) {
      const key = s.property as 'name' | 'sortOrder';
      const d = key === 'name' ? String(a.name).localeCompare(String(b.name)) : (a.sortOrder as number) - (b.sortOrder as number);
      if (d !== 0) return s.isAscending === false ? -d : d;
    }
    return 0;
  };
  found.sort(compare);
  const total = found.length;
  let position = integerArg(args, 'position', 0);
  if (position < 0) position = Math.max(0, total + position);
  const limit = unsignedArg(args, 'limit', null);
  const ids = found.slice(position, limit === null ? undefined : position + limit).map((m) => m.id as string);
  return {
    accountId: ctx.accountId,
    queryState: state,
    canCalculateChanges: false,
    position,
    ids,
    ...(args.calculateTotal === true ? { total } : {}),
  };
}

async function mailboxSet(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs> {
  requireAccount(args, ctx);
  const { create, update, destroy } = setArgs(args);
  const before = await mailboxSnapshot(ctx);
  if (typeof args.ifInState === 'string' && args.ifInState !== before.state) throw new MethodError('stateMismatch');
  const accountId = ctx.account.id;
  const created: Record<string, unknown> = {};
  const notCreated: Record<string, SetError> = {};
  const updated: Record<string, null> = {};
  const notUpdated: Record<string, SetError> = {};
  const destroyed: string[] = [];
  const notDestroyed: Record<string, SetError> = {};

  for (const [creationId, object] of Object.entries(create)) {
    try {
      const invalid = Object.keys(object).filter((k) => !['name', 'parentId', 'isSubscribed', 'role', 'sortOrder'].includes(k));
      if (invalid.length > 0 || typeof object.name !== 'string' || object.name === '' || object.name.includes(HIERARCHY_SEPARATOR)) {
        notCreated[creationId] = { type: 'invalidProperties', properties: invalid.length > 0 ? invalid : ['name'] };
        continue;
      }
      if (object.role !== undefined && object.role !== null) {
        notCreated[creationId] = { type: 'invalidProperties', description: 'Roles are fixed', properties: ['role'] };
        continue;
      }
      const parent = await parentName(object.parentId, ctx);
      if (parent === undefined) {
        notCreated[creationId] = { type: 'invalidProperties', properties: ['parentId'] };
        continue;
      }
      const name = parent === null ? object.name : `${parent}${HIERARCHY_SEPARATOR}${object.name}`;
      const mailbox = await ctx.domain.createMailbox(accountId, name);
      await ctx.domain.setSubscribed(accountId, mailbox.name, object.isSubscribed !== false);
      ctx.createdIds.set(creationId, mailbox.objectId);
      created[creationId] = { id: mailbox.objectId, totalEmails: 0, unreadEmails: 0, totalThreads: 0, unreadThreads: 0, role: null, sortOrder: 100 };
    } catch (err) {
      notCreated[creationId] = setErrorFor(err);
    }
  }

  for (const [rawId, patch] of Object.entries(update)) {
    const id = resolveId(rawId, ctx);
    try {
      const current = (await ctx.domain.listMailboxes(accountId)).find((m) => m.objectId === id);
      if (!current) {
        notUpdated[rawId] = { type: 'notFound' };
        continue;
      }
      const invalid = Object.keys(patch).filter((k) => !['name', 'parentId', 'isSubscribed', 'sortOrder'].includes(k));
      if (invalid.length > 0) {
        notUpdated[rawId] = { type: 'invalidProperties', properties: invalid };
        continue;
      }
      if ('name' in patch || 'parentId' in patch) {
        const cut = current.name.lastIndexOf(HIERARCHY_SEPARATOR);
        const leaf = 'name' in patch ? patch.name : cut >= 0 ? current.name.slice(cut + 1) : current.name;
        const parent = 'parentId' in patch ? await parentName(patch.parentId, ctx) : cut >= 0 ? current.name.slice(0, cut) : null;
        if (typeof leaf !== 'string' || leaf === '' || leaf.includes(HIERARCHY_SEPARATOR) || parent === undefined) {
          notUpdated[rawId] = { type: 'invalidProperties', properties: Object.keys(patch).filter((k) => k === 'name' || k === 'parentId') };
          continue;
        }
        const target = parent === null ? leaf : `${parent}${HIERARCHY_SEPARATOR}${leaf}`;
        if (target !== current.name) await ctx.domain.renameMailbox(accountId, current.name, target);
        current.name = target;
      }
      if (typeof patch.isSubscribed === 'boolean') await ctx.domain.setSubscribed(accountId, current.name, patch.isSubscribed);
      updated[rawId] = null;
    } catch (err) {
      notUpdated[rawId] = setErrorFor(err);
    }
  }

  for (const rawId of destroy) {
    const id = resolveId(rawId, ctx);
    try {
      const current = (await ctx.domain.listMailboxes(accountId)).find((m) => m.objectId === id);
      if (!current) {
        notDestroyed[rawId] = { type: 'notFound' };
        continue;
      }
      // RFC 8621 §2.5: without onDestroyRemoveEmails a mailbox with mail is not destroyed.
      if (current.messageCount > 0 && args.onDestroyRemoveEmails !== true) {
        notDestroyed[rawId] = { type: 'mailboxHasEmail' };
        continue;
      }
      await ctx.domain.deleteMailbox(accountId, current.name);
      destroyed.push(id);
    } catch (err) {
      notDestroyed[rawId] = setErrorFor(err);
    }
  }

  const after = await mailboxSnapshot(ctx);
  return setResponse(ctx, before.state, after.state, { created, updated, destroyed, notCreated, notUpdated, notDestroyed });
}

/** The IMAP name of the parent a JMAP parentId names: null for the top level, undefined when there is no such mailbox. */
async function parentName(parentId: unknown, ctx: JmapContext): Promise<string | null | undefined> {
  if (parentId === null || parentId === undefined) return null;
  if (typeof parentId !== 'string') return undefined;
  const id = resolveId(parentId, ctx);
  return (await ctx.domain.listMailboxes(ctx.account.id)).find((m) => m.objectId === id)?.name;
}

export const mailboxMethods: Record<string, MethodSpec> = {
  'Mailbox/get': { capability: MAIL, run: mailboxGet },
  'Mailbox/changes': { capability: MAIL, run: mailboxChanges },
  'Mailbox/query': { capability: MAIL, run: mailboxQuery },
  'Mailbox/set': { capability: MAIL, run: mailboxSet },
};
