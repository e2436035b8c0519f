/**
 * NOTIFY arguments (RFC 5465 §8):
 *   notify       = "NOTIFY" SP (notify-set / "NONE")
 *   notify-set   = "SET" [SP "STATUS"] SP event-group *(SP event-group)
 *   event-group  = "(" filter-mailboxes SP events ")"
 *   filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal" / "subscribed"
 *                / ("subtree" SP one-or-more-mailbox) / ("mailboxes" SP one-or-more-mailbox)
 *   events       = "(" event *(SP event) ")" / "NONE"
 *   event        = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"] / other event names / atom
 * Grammar only: which events are supported, and the rules between groups
 * (§3.1), are the session's to check, since some need NO [BADEVENT].
 */
import { Cursor, ParseError } from './cursor.js';
import { fetchAtt } from './parse-fetch.js';
import type { ImapCommandBody, NotifyEvent, NotifyGroup, NotifySet } from './types.js';

/** Event names of RFC 5465 §5 and RFC 5464 §7, in their canonical spelling. */
const EVENT_NAMES = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
];
const CANONICAL = new Map(EVENT_NAMES.map((n) => [n.toUpperCase(), n]));

export function parseNotify(c: Cursor): ImapCommandBody {
  c.sp('NOTIFY SET or NONE');
  const verb = c.keyword('NOTIFY SET or NONE');
  if (verb === 'NONE') return { name: 'NOTIFY', set: null };
  if (verb !== 'SET') throw new ParseError(`Expected NOTIFY SET or NOTIFY NONE, got ${verb}`);
  c.sp('event groups');
  const set: NotifySet = { status: false, groups: [] };
  if (c.peek() !== 0x28) {
    if (c.keyword('STATUS') !== 'STATUS') throw new ParseError('Expected STATUS or an event group');
    set.status = true;
    c.sp('event groups');
  }
  do set.groups.push(eventGroup(c));
  while (c.more());
  return { name: 'NOTIFY', set };
}

function eventGroup(c: Cursor): NotifyGroup {
  c.expectChar('(', '"(" to start an event group');
  c.enter();
  const kind = c.keyword('mailbox filter');
  let filter: NotifyGroup['filter'];
  switch (kind) {
    case 'SELECTED':
    case 'SELECTED-DELAYED':
    case 'PERSONAL':
    case 'INBOXES':
    case 'SUBSCRIBED':
      filter = { kind };
      break;
    case 'SUBTREE':
    case 'MAILBOXES':
      c.sp('mailbox names');
      filter = {
        kind,
        mailboxes: c.peek() === 0x28 ? c.list('mailbox names', () => c.astring('mailbox name'), false) : [c.astring('mailbox name')],
      };
      break;
    default:
      throw new ParseError(`Unknown mailbox filter ${kind}`);
  }
  c.sp('events');
  const events = c.peek() === 0x28 ? c.list('events', () => event(c), false) : none(c);
  c.expectChar(')', '")" to end an event group');
  c.leave();
  return { filter, events };
}

function none(c: Cursor): NotifyEvent[] {
  if (c.keyword('events') !== 'NONE') throw new ParseError('Expected an event list or NONE');
  return [];
}

function event(c: Cursor): NotifyEvent {
  const atom = c.atom('event');
  const name = CANONICAL.get(atom.toUpperCase()) ?? atom;
  // MessageNew may name the FETCH items to send with each new message (RFC 5465 §5.1).
  if (name === 'MessageNew') {
    const mark = c.mark();
    if (c.more() && c.peek() === 0x28) return { name, fetch: c.list('fetch attributes', () => fetchAtt(c), false) };
    c.restore(mark);
  }
  return { name };
}
