import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('ESEARCH (RFC 4731), SEARCHRES (RFC 5182), WITHIN (RFC 5032), CHARSET', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    for (let i = 1; i <= 5; i++) {
      await h.domain.deliver(ALICE, message({ subject: `M${i}`, from: i === 4 ? 'Smith <smith@example.org>' : 'Bob <bob@example.org>' }));
    }
    const inbox = (await h.domain.getMailbox(1, 'INBOX'))!;
    await h.domain.updateFlags(inbox, [2, 3, 4, 5], 'add', ['\\Flagged']);
  });
  after(() => h.close());

  it('RETURN (MIN MAX COUNT ALL) and the RFC 4731 example', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal(
      await c.cmd('SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', 'A282'),
      '* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\nA282 OK SEARCH completed\r\n',
    );
    assert.equal(
      await c.cmd('UID SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED', 'A1'),
      '* ESEARCH (TAG "A1") UID MIN 2 MAX 5 ALL 2:5 COUNT 4\r\nA1 OK SEARCH completed\r\n',
    );
    assert.equal(await c.cmd('SEARCH RETURN () NOT FLAGGED', 'A2'), '* ESEARCH (TAG "A2") ALL 1\r\nA2 OK SEARCH completed\r\n');
    assert.equal(await c.cmd('SEARCH RETURN (COUNT) DELETED', 'A3'), '* ESEARCH (TAG "A3") COUNT 0\r\nA3 OK SEARCH completed\r\n');
    assert.match(await c.cmd('SEARCH RETURN (PARTIAL) ALL'), /^t\d+ BAD /);
  });

  it('SAVE and "$" in FETCH, SEARCH, STORE and COPY (RFC 5182 examples)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    // $ before any SAVE is the empty set.
    assert.equal(await c.cmd('FETCH $ FLAGS', 'A0'), 'A0 OK FETCH completed\r\n');
    assert.equal(
      await c.cmd('SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"', 'A282'),
      'A282 OK SEARCH completed, result saved\r\n',
    );
    assert.match(await c.cmd('FETCH $ (UID)', 'A283'), /^\* 2 FETCH \(UID 2\)\r\n\* 3 FETCH \(UID 3\)\r\n\* 5 FETCH \(UID 5\)\r\nA283 OK/);
    assert.equal(await c.cmd('UID SEARCH UID $ NOT 3', 'A4'), '* SEARCH 2 5\r\nA4 OK SEARCH completed\r\n');
    // SAVE with MIN and MAX only saves those two (RFC 5182 §2.4); ESEARCH still answers.
    assert.equal(
      await c.cmd('SEARCH RETURN (SAVE MIN MAX) FLAGGED', 'A5'),
      '* ESEARCH (TAG "A5") MIN 2 MAX 5\r\nA5 OK SEARCH completed\r\n',
    );
    assert.equal(await c.cmd('SEARCH $', 'A6'), '* SEARCH 2 5\r\nA6 OK SEARCH completed\r\n');
    await c.cmd('STORE $ +FLAGS.SILENT (\\Answered)', 'A7');
    assert.equal(await c.cmd('SEARCH ANSWERED', 'A8'), '* SEARCH 2 5\r\nA8 OK SEARCH completed\r\n');
    assert.match(await c.cmd('UID COPY $ Archive', 'A9'), /^A9 OK \[COPYUID \d+ 2,5 1:2\] /);
    // Expunged messages drop out of the saved result.
    await c.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await c.cmd('EXPUNGE');
    assert.equal(await c.cmd('UID SEARCH $', 'B1'), '* SEARCH 5\r\nB1 OK SEARCH completed\r\n');
    // A failed SEARCH with SAVE empties it; a new SELECT too.
    assert.match(await c.cmd('SEARCH RETURN (SAVE) CHARSET X-UNKNOWN ALL', 'B2'), /^B2 NO \[BADCHARSET \(UTF-8 US-ASCII [^)]*\)\] /);
    assert.equal(await c.cmd('SEARCH $', 'B3'), '* SEARCH\r\nB3 OK SEARCH completed\r\n');
    await c.cmd('SEARCH RETURN (SAVE) ALL');
    await c.cmd('SELECT INBOX');
    assert.equal(await c.cmd('SEARCH $', 'B4'), '* SEARCH\r\nB4 OK SEARCH completed\r\n');
    assert.match(await c.cmd('FETCH $,1 FLAGS'), /^t\d+ BAD /);
    await c.cmd('STORE 1:* -FLAGS.SILENT (\\Answered)');
  });

  it('CHARSET, OLDER/YOUNGER, SAVEDBEFORE/SAVEDSINCE, decoded text', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.match(await c.cmd('SEARCH CHARSET UTF-8 SUBJECT M1'), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd('SEARCH CHARSET us-ascii SUBJECT m1'), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd('SEARCH CHARSET ISO-8859-1 SUBJECT M1'), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd('SEARCH CHARSET X-UNKNOWN SUBJECT M1'), /^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII [^)]*\)\] /);
    assert.match(await c.cmd('SEARCH YOUNGER 3600 SUBJECT M1'), /^\* SEARCH 1\r\n/);
    assert.match(await c.cmd('SEARCH OLDER 3600'), /^\* SEARCH\r\n/);
    assert.match(await c.cmd('UID SEARCH SAVEDSINCE 1-Jan-2000 SUBJECT M3'), /^\* SEARCH 3\r\n/);
    assert.match(await c.cmd('SEARCH SAVEDBEFORE 1-Jan-2000'), /^\* SEARCH\r\n/);
    assert.match(await c.cmd('UID SEARCH SAVEDATESUPPORTED SUBJECT M3'), /^\* SEARCH 3\r\n/);
    await h.domain.deliver(
      ALICE,
      Buffer.from(
        'Subject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\n' +
          'Content-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe\r\n',
      ),
    );
    await c.cmd('NOOP');
    assert.match(await c.cmd('UID SEARCH SUBJECT "grüße"'), /^\* SEARCH 6\r\n/);
    assert.match(await c.cmd('UID SEARCH BODY "SCHÖNE"'), /^\* SEARCH 6\r\n/);
    assert.match(await c.cmd('UID SEARCH TEXT "schöne grüße"'), /^\* SEARCH 6\r\n/);
  });
});
