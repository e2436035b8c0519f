/**
 * IMAP4rev1 \Recent (RFC 3501 §2.3.2) transcripts, after imaptest's select,
 * copy and search-flags scripts: RECENT counts in SELECT, EXAMINE and
 * STATUS, \Recent in FETCH FLAGS, SEARCH RECENT / NEW / OLD, the first
 * session to see a message gets it, and none of it after ENABLE IMAP4rev2.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

const line = (r: string, re: RegExp) => {
  const m = re.exec(r);
  assert.ok(m, r);
  return m[1]!;
};

describe('\\Recent for IMAP4rev1 sessions', () => {
  let h: Harness;
  beforeEach(async () => {
    await h?.close();
    h = await createHarness();
    await h.domain.deliver(ALICE, message({ subject: 'one' }), 'Archive');
    await h.domain.deliver(ALICE, message({ subject: 'two' }), 'Archive');
  });
  after(() => h.close());

  it('EXAMINE shows the recent messages and leaves them; SELECT takes them; STATUS counts what no session has seen (select)', async () => {
    const c = await h.open({ login: true });
    const examine = await c.cmd('EXAMINE Archive');
    assert.match(examine, /\* 2 EXISTS\r\n\* 2 RECENT\r\n/);
    assert.match(await c.cmd('FETCH 1:2 (FLAGS)'), /\* 1 FETCH \(FLAGS \(\\Recent\)\)\r\n\* 2 FETCH \(FLAGS \(\\Recent\)\)\r\n/);
    await c.cmd('CLOSE');
    assert.match(await c.cmd('STATUS Archive (MESSAGES RECENT)'), /\* STATUS "?Archive"? \(MESSAGES 2 RECENT 2\)/);
    assert.match(await c.cmd('SELECT Archive'), /\* 2 EXISTS\r\n\* 2 RECENT\r\n/);
    assert.equal(line(await c.cmd('SEARCH RECENT'), /\* SEARCH([^\r]*)\r\n/), ' 1 2');
    await c.cmd('CLOSE');
    assert.match(await c.cmd('STATUS Archive (RECENT)'), /\* STATUS "?Archive"? \(RECENT 0\)/);
    // Seen by a session already: the next one gets none.
    assert.match(await c.cmd('SELECT Archive'), /\* 2 EXISTS\r\n\* 0 RECENT\r\n/);
    assert.match(await c.cmd('FETCH 1 (FLAGS)'), /\* 1 FETCH \(FLAGS \(\)\)\r\n/);
  });

  it('new mail goes to the selected session that syncs first, with RECENT after EXISTS and \\Recent on the copies (copy)', async () => {
    const a = await h.open({ login: true });
    const b = await h.open({ login: true });
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    await h.domain.deliver(ALICE, message({ subject: 'three' }));
    const noop = await a.cmd('NOOP');
    assert.match(noop, /\* 1 EXISTS\r\n\* 1 RECENT\r\n/);
    assert.match(await b.cmd('NOOP'), /\* 1 EXISTS\r\n\* 0 RECENT\r\n/);
    await a.cmd('STORE 1 FLAGS (\\Seen)');
    // A copy is a new message: \Recent for the session that sees it first, its flags kept.
    assert.match(await b.cmd('COPY 1 INBOX'), /\* 2 EXISTS\r\n\* 1 RECENT\r\n/);
    assert.match(await b.cmd('FETCH 1:2 (FLAGS)'), /\* 1 FETCH \(FLAGS \(\\Seen\)\)\r\n\* 2 FETCH \(FLAGS \(\\Recent \\Seen\)\)\r\n/);
    assert.match(await b.cmd('STORE 2 +FLAGS (\\Flagged)'), /\* 2 FETCH \(FLAGS \(\\Recent \\Flagged \\Seen\)\)\r\n/);
    assert.match(await a.cmd('NOOP'), /\* 2 EXISTS\r\n\* 1 RECENT\r\n/);
  });

  it('sessions of one node woken by new mail another already took ask the store once between them, and get 0 RECENT', async () => {
    const sessions = [];
    for (let i = 0; i < 4; i++) {
      const c = await h.open({ login: true });
      await c.cmd('SELECT INBOX');
      sessions.push(c);
    }
    let claims = 0;
    const claimRecent = h.domain.claimRecent.bind(h.domain);
    h.domain.claimRecent = (mailbox, upTo) => {
      claims++;
      return claimRecent(mailbox, upTo);
    };
    await h.domain.deliver(ALICE, message({ subject: 'for everyone' }));
    assert.match(await sessions[0]!.cmd('NOOP'), /\* 1 EXISTS\r\n\* 1 RECENT\r\n/);
    for (const c of sessions.slice(1)) assert.match(await c.cmd('NOOP'), /\* 1 EXISTS\r\n\* 0 RECENT\r\n/);
    assert.equal(claims, 1);
    // A later message is claimed again, by whichever session syncs first.
    await h.domain.deliver(ALICE, message({ subject: 'second' }));
    assert.match(await sessions[2]!.cmd('NOOP'), /\* 2 EXISTS\r\n\* 1 RECENT\r\n/);
    assert.match(await sessions[0]!.cmd('NOOP'), /\* 2 EXISTS\r\n\* 1 RECENT\r\n/);
    assert.equal(claims, 2);
  });

  it('SEARCH RECENT, NEW (recent and unseen) and OLD (search-flags)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT Archive');
    await c.cmd('STORE 1 +FLAGS.SILENT (\\Seen)');
    assert.equal(line(await c.cmd('SEARCH RECENT'), /\* SEARCH([^\r]*)\r\n/), ' 1 2');
    assert.equal(line(await c.cmd('SEARCH NEW'), /\* SEARCH([^\r]*)\r\n/), ' 2');
    assert.equal(line(await c.cmd('SEARCH OLD'), /\* SEARCH([^\r]*)\r\n/), '');
    await h.domain.deliver(ALICE, message({ subject: 'old one' }), 'Archive');
    const other = await h.open({ login: true });
    await other.cmd('SELECT Archive');
    await c.cmd('NOOP');
    // Message 3 was taken by the other session: old here.
    assert.equal(line(await c.cmd('SEARCH OLD'), /\* SEARCH([^\r]*)\r\n/), ' 3');
    assert.equal(line(await other.cmd('SEARCH RECENT'), /\* SEARCH([^\r]*)\r\n/), ' 3');
  });

  it('after ENABLE IMAP4rev2 there is no RECENT, no \\Recent, and the messages stay recent for IMAP4rev1 sessions', async () => {
    const rev2 = await h.open({ login: true });
    await rev2.cmd('ENABLE IMAP4rev2');
    const select = await rev2.cmd('SELECT Archive');
    assert.doesNotMatch(select, /RECENT/);
    assert.match(await rev2.cmd('FETCH 1:2 (FLAGS)'), /\* 1 FETCH \(FLAGS \(\)\)\r\n\* 2 FETCH \(FLAGS \(\)\)\r\n/);
    const rev1 = await h.open({ login: true });
    assert.match(await rev1.cmd('SELECT Archive'), /\* 2 RECENT\r\n/);
  });
});
