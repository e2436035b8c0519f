/**
 * LIST (RFC 9051 §6.3.9 with RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE,
 * RFC 5819 LIST-STATUS) and LSUB (IMAP4rev1, RFC 3501 §6.3.9).
 * \HasChildren / \HasNoChildren and special-use attributes are always
 * returned (IMAP4rev2 makes them part of the base LIST response).
 */
import { canonicalMailboxName, HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import { MalformedMailboxName } from '../../protocol/imap/mutf7.js';
import type { ImapValue } from '../../protocol/imap/types.js';
import type { Mailbox } from '../../store/types.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, bad, ok } from '../state.js';
import { sendStatus } from './status.js';

const SELECT_OPTIONS = ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'];
const RETURN_OPTIONS = ['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS'];

export async function listCommand(cmd: CommandOf<'LIST'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const select = cmd.selectOptions.map((o) => o.toUpperCase());
  const returns = cmd.returnOptions.map((o) => o.toUpperCase());
  const badSelect = select.find((o) => !SELECT_OPTIONS.includes(o));
  if (badSelect) return bad(`Unsupported LIST selection option ${badSelect}`);
  const badReturn = returns.find((o) => !RETURN_OPTIONS.includes(o));
  if (badReturn) return bad(`Unsupported LIST return option ${badReturn}`);
  // RFC 5258 §3.1: RECURSIVEMATCH alone is an error.
  if (select.includes('RECURSIVEMATCH') && !select.some((o) => o === 'SUBSCRIBED' || o === 'SPECIAL-USE')) {
    return bad('RECURSIVEMATCH needs another selection option');
  }
  const reference = patternName(ctx, cmd.reference);
  const patterns = cmd.patterns.map((p) => patternName(ctx, p)).filter((p): p is string => p !== null);
  // A pattern that is not valid modified UTF-7 names no mailbox: it matches nothing (as in Dovecot).
  if (reference === null || patterns.length === 0) return ok('LIST completed');
  if (patterns.length === 1 && patterns[0] === '' && select.length === 0) {
    // RFC 9051 §6.3.9: LIST "" "" returns the hierarchy delimiter and the root name.
    await ctx.send({ type: 'list', command: 'LIST', attributes: ['\\Noselect'], delimiter: HIERARCHY_SEPARATOR, mailbox: '' });
    return ok('LIST completed');
  }

  const mailboxes = await ctx.imap.domain.listVisibleMailboxes(account);
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const subscribed = new Set(await ctx.imap.domain.listSubscriptions(account.id));
  const regexes = patterns.map((p) => patternRegex(reference + p));
  const matchesPattern = (name: string) => regexes.some((r) => r.test(name));
  const selSubscribed = select.includes('SUBSCRIBED');
  const selSpecial = select.includes('SPECIAL-USE');
  const recursive = select.includes('RECURSIVEMATCH');
  const showSubscribed = selSubscribed || returns.includes('SUBSCRIBED');
  const selected = (name: string) => {
    const m = byName.get(name);
    if (selSubscribed && !subscribed.has(name)) return false;
    if (selSpecial && !m?.specialUse) return false;
    return selSubscribed || !!m;
  };

  const names = new Set<string>([...byName.keys(), ...(selSubscribed ? subscribed : [])]);
  for (const name of sortNames([...names])) {
    if (!matchesPattern(name)) continue;
    const isSelected = selected(name);
    // RFC 5258 §3.5: with RECURSIVEMATCH a parent is listed with CHILDINFO for a descendant that meets
    // the selection criteria but that no pattern of this command returns (one that is returned says
    // so itself); as Dovecot does (imaptest listext).
    const childMatches =
      recursive && [...names].some((n) => n.startsWith(name + HIERARCHY_SEPARATOR) && selected(n) && !matchesPattern(n));
    if (!isSelected && !childMatches) continue;
    const m = byName.get(name);
    const attributes = attributesOf(name, m, mailboxes, showSubscribed && subscribed.has(name));
    const extended: ImapValue[] | undefined =
      childMatches && selSubscribed ? [{ atom: 'CHILDINFO' }, ['SUBSCRIBED']] : undefined;
    await ctx.send({
      type: 'list',
      command: 'LIST',
      attributes,
      delimiter: HIERARCHY_SEPARATOR,
      mailbox: name,
      ...(extended ? { extended } : {}),
    });
    // RFC 4314 §4: a shared mailbox's STATUS needs "r" ("l" only lists it).
    const readable = m && (m.accountId === account.id || (await ctx.imap.domain.myRights(account, m)).includes('r'));
    if (cmd.returnStatus && m && isSelected && readable) await sendStatus(ctx, m, cmd.returnStatus);
  }
  return ok('LIST completed');
}

export async function lsubCommand(cmd: CommandOf<'LSUB'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const reference = patternName(ctx, cmd.reference);
  const pattern = patternName(ctx, cmd.pattern);
  if (reference === null || pattern === null) return ok('LSUB completed');
  const regex = patternRegex(reference + pattern);
  const mailboxes = await ctx.imap.domain.listMailboxes(account.id);
  const exists = new Set(mailboxes.map((m) => m.name));
  const subscriptions = await ctx.imap.domain.listSubscriptions(account.id);
  const subscribed = new Set(subscriptions);
  // RFC 3501 §6.3.9: when "foo/bar" is subscribed but "foo" is not, a "%" that matches
  // "foo" but not "foo/bar" returns "foo", flagged \Noselect.
  const listed = new Map<string, string[]>();
  const percent = (reference + pattern).includes('%');
  for (const name of subscriptions) {
    if (regex.test(name)) {
      listed.set(name, exists.has(name) ? [] : ['\\Noselect']);
      continue;
    }
    if (!percent) continue;
    for (let i = name.lastIndexOf(HIERARCHY_SEPARATOR); i > 0; i = name.lastIndexOf(HIERARCHY_SEPARATOR, i - 1)) {
      const parent = name.slice(0, i);
      if (!subscribed.has(parent) && regex.test(parent)) listed.set(parent, ['\\Noselect']);
    }
  }
  for (const name of sortNames([...listed.keys()])) {
    await ctx.send({ type: 'list', command: 'LSUB', attributes: listed.get(name)!, delimiter: HIERARCHY_SEPARATOR, mailbox: name });
  }
  return ok('LSUB completed');
}

/** A LIST/LSUB reference or pattern as a mailbox name pattern, or null when it is not valid modified UTF-7. */
function patternName(ctx: CommandContext, arg: string): string | null {
  try {
    return ctx.mailboxName(arg);
  } catch (err) {
    if (err instanceof MalformedMailboxName) return null;
    throw err;
  }
}

function attributesOf(name: string, m: Mailbox | undefined, all: Mailbox[], subscribed: boolean): string[] {
  const attributes: string[] = [];
  if (!m) attributes.push('\\NonExistent');
  else {
    const hasChildren = all.some((other) => other.name.startsWith(name + HIERARCHY_SEPARATOR));
    attributes.push(hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (m.specialUse) attributes.push(m.specialUse);
  }
  if (subscribed) attributes.push('\\Subscribed');
  return attributes;
}

/** INBOX first, then by name. */
function sortNames(names: string[]): string[] {
  return names.sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

/**
 * "*" matches anything, "%" anything but the separator (RFC 9051 §6.3.9).
 * A pattern starting with INBOX in any case matches INBOX (§5.1).
 */
export function patternRegex(pattern: string): RegExp {
  let source = '';
  for (const ch of canonicalPattern(pattern)) {
    if (ch === '*') source += '.*';
    else if (ch === '%') source += '[^/]*';
    else source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'su');
}

function canonicalPattern(pattern: string): string {
  const m = /^inbox(?=$|\/)/i.exec(pattern);
  return m ? canonicalMailboxName(pattern) : pattern;
}
