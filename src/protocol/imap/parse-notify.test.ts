import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand } from './parse-command.js';
import type { ImapCommand } from './types.js';

function parse(line: string): ImapCommand | string {
  const r = parseCommand({ texts: [Buffer.from(line)], literals: [] }, 10);
  return r.ok ? r.command : `BAD ${r.text}`;
}

test('NOTIFY NONE and the RFC 5465 examples', () => {
  assert.deepEqual(parse('a NOTIFY NONE'), { tag: 'a', name: 'NOTIFY', set: null });
  // Events outside parentheses are not an event list.
  assert.match(String(parse('A01 NOTIFY SET (selected MessageNew MessageExpunge)')), /^BAD Expected an event list or NONE/);
  const peek = parse('A01 NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))');
  assert.ok(typeof peek !== 'string' && peek.name === 'NOTIFY');
  assert.equal(peek.set!.groups[0].events[0].fetch!.length, 2);
  assert.deepEqual(peek.set!.groups[1].filter, { kind: 'SUBTREE', mailboxes: ['Lists'] });
  const r = parse('A02 NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew FlagChange MessageExpunge MailboxName SubscriptionChange))');
  assert.ok(typeof r !== 'string' && r.name === 'NOTIFY' && r.set);
  assert.equal(r.set.status, true);
  assert.deepEqual(r.set.groups[0], {
    filter: { kind: 'SELECTED' },
    events: [{ name: 'MessageNew', fetch: [{ kind: 'UID' }, { kind: 'FLAGS' }] }, { name: 'MessageExpunge' }, { name: 'FlagChange' }],
  });
  assert.deepEqual(r.set.groups[1].filter, { kind: 'PERSONAL' });
  assert.deepEqual(r.set.groups[1].events.map((e) => e.name), ['MessageNew', 'FlagChange', 'MessageExpunge', 'MailboxName', 'SubscriptionChange']);
});

test('NOTIFY mailbox filters, NONE events, case and unknown events', () => {
  const r = parse('b notify set (SELECTED-delayed (messagenew messageexpunge)) (subtree "Lists" NONE) (MAILBOXES (INBOX "a b") (mailboxname AnnotationChange Foo))');
  assert.ok(typeof r !== 'string' && r.name === 'NOTIFY' && r.set);
  assert.equal(r.set.status, false);
  assert.deepEqual(r.set.groups.map((g) => g.filter), [
    { kind: 'SELECTED-DELAYED' },
    { kind: 'SUBTREE', mailboxes: ['Lists'] },
    { kind: 'MAILBOXES', mailboxes: ['INBOX', 'a b'] },
  ]);
  assert.deepEqual(r.set.groups[0].events, [{ name: 'MessageNew' }, { name: 'MessageExpunge' }]);
  assert.deepEqual(r.set.groups[1].events, []);
  // Unknown events parse (the session answers NO [BADEVENT]); known ones get their canonical spelling.
  assert.deepEqual(r.set.groups[2].events, [{ name: 'MailboxName' }, { name: 'AnnotationChange' }, { name: 'Foo' }]);
  const inboxes = parse('c NOTIFY SET (inboxes (MessageNew MessageExpunge))');
  assert.ok(typeof inboxes !== 'string' && inboxes.name === 'NOTIFY');
  assert.deepEqual(inboxes.set!.groups[0].filter, { kind: 'INBOXES' });
});

test('malformed NOTIFY is BAD', () => {
  for (const line of [
    'a NOTIFY',
    'a NOTIFY SET',
    'a NOTIFY SET STATUS',
    'a NOTIFY GET (personal NONE)',
    'a NOTIFY SET (personal)',
    'a NOTIFY SET (everything NONE)',
    'a NOTIFY SET (subtree NONE)',
    'a NOTIFY SET (personal ())',
    'a NOTIFY SET (personal (MessageNew ()))',
    'a NOTIFY SET (selected (MessageNew (FOO)))',
    'a NOTIFY SET (personal NONE) extra',
    'a NOTIFY NONE NONE',
  ]) {
    assert.match(String(parse(line)), /^BAD /, line);
  }
});
