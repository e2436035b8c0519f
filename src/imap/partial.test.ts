/** PARTIAL (RFC 9394): paged SEARCH results, with imaptest's search-partial cases. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

describe('SEARCH RETURN (PARTIAL ...) (RFC 9394)', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    for (let i = 1; i <= 5; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
  });
  after(() => h.close());

  it('pages of the results in mailbox order; the range as normalised, NIL past the end', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    const partial = async (range: string, keys = 'ALL', uid = '') =>
      /\* ESEARCH \(TAG "t\d+"\)( UID)? ([^\r]*)\r\n/.exec(await c.cmd(`${uid}SEARCH RETURN (PARTIAL ${range}) ${keys}`))?.[2];
    assert.equal(await partial('1:1'), 'PARTIAL (1:1 1)');
    assert.equal(await partial('2:4'), 'PARTIAL (2:4 2:4)');
    assert.equal(await partial('4:2'), 'PARTIAL (2:4 2:4)');
    assert.equal(await partial('1:6'), 'PARTIAL (1:6 1:5)');
    assert.equal(await partial('6:6'), 'PARTIAL (6:6 NIL)');
    assert.equal(await partial('1:3', '1:2,4:5'), 'PARTIAL (1:3 1:2,4)');
    assert.equal(await partial('2:3', '1:2,4:5'), 'PARTIAL (2:3 2,4)');
    assert.equal(await partial('2:10', '1:2,4:5'), 'PARTIAL (2:10 2,4:5)');
    // From the end: -1 is the last result.
    assert.equal(await partial('-1:-2', '1:2,4:5'), 'PARTIAL (-1:-2 4:5)');
    assert.equal(await partial('-3:-10', '1:2,4:5'), 'PARTIAL (-3:-10 1:2)');
    assert.equal(await partial('-5:-9', '1:2,4:5'), 'PARTIAL (-5:-9 NIL)');
    assert.equal(await partial('1:2', 'ALL', 'UID '), 'PARTIAL (1:2 1:2)');
  });

  it('MIN, MAX and COUNT describe the whole result; ALL beside PARTIAL is refused; SAVE keeps the page', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.match(await c.cmd('SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) ALL'), /\* ESEARCH \(TAG "t\d+"\) MIN 1 MAX 5 COUNT 5 PARTIAL \(2:3 2:3\)\r\n/);
    // RFC 9394 §3.1: one PARTIAL or one ALL, not both.
    assert.match(await c.cmd('SEARCH RETURN (ALL PARTIAL 1:2) ALL'), /^t\d+ BAD /);
    assert.match(await c.cmd('SEARCH RETURN (SAVE PARTIAL -1:-2) ALL'), /PARTIAL \(-1:-2 4:5\)/);
    assert.match(await c.cmd('UID FETCH $ UID'), /^\* 4 FETCH \(UID 4\)\r\n\* 5 FETCH \(UID 5\)\r\n/);
    assert.match(await c.cmd('SEARCH RETURN (PARTIAL 1:0) ALL'), /^t\d+ BAD /);
  });

  it('UID SEARCH pages by UID order after an expunge (imaptest search-partial)', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    await c.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
    await c.cmd('EXPUNGE');
    assert.match(await c.cmd('UID SEARCH RETURN (PARTIAL 2:2) ALL'), /\* ESEARCH \(TAG "t\d+"\) UID PARTIAL \(2:2 3\)\r\n/);
    assert.match(await c.cmd('UID SEARCH RETURN (PARTIAL 5:10) ALL'), /\* ESEARCH \(TAG "t\d+"\) UID PARTIAL \(5:10 NIL\)\r\n/);
  });
});
