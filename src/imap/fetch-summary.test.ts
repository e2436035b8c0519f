import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, message, type Harness } from './harness.test.js';

describe('FETCH answers ENVELOPE/BODYSTRUCTURE from the summary stored at ingest', () => {
  let h: Harness;
  let blobReads = 0;
  let wholeReads = 0;
  before(async () => {
    h = await createHarness();
    const store = h.domain.store;
    const readBlob = store.readBlob.bind(store);
    store.readBlob = async (id: string) => {
      blobReads++;
      wholeReads++;
      return readBlob(id);
    };
    const openBlobRange = store.openBlobRange.bind(store);
    store.openBlobRange = async (id: string, start: number, end: number) => {
      blobReads++;
      return openBlobRange(id, start, end);
    };
    await h.domain.deliver(ALICE, message({ subject: 'Delivered' }));
    // Mail stored without a summary (as by an older Mailstead) gets one on first use.
    const inbox = (await h.domain.getMailbox(1, 'INBOX'))!;
    await store.appendMessage(inbox.id, { content: message({ subject: 'Legacy' }) });
  });
  after(() => h.close());

  it('reads no message bytes for ENVELOPE, BODY, BODYSTRUCTURE and PREVIEW of ingested mail', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    blobReads = 0;
    const r = await c.cmd('FETCH 1 (ENVELOPE BODY BODYSTRUCTURE PREVIEW)');
    assert.match(r, /^\* 1 FETCH \(ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" "Delivered" /);
    assert.match(r, /PREVIEW "Hello Alice, this is the body."\)\r\n/);
    assert.equal(blobReads, 0);
    wholeReads = 0;
    await c.cmd('FETCH 1 BODY.PEEK[1]');
    assert.equal(blobReads, 1, 'section bytes still come from the message');
    assert.equal(wholeReads, 0, 'as a range of it, never the whole message');
  });

  it('computes and saves the summary of mail stored without one, once', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    const [legacy] = await h.domain.store.getMessages((await h.domain.getMailbox(1, 'INBOX'))!.id, [2]);
    assert.equal((await h.domain.store.readSummaries([legacy!.blobId])).size, 0);
    blobReads = 0;
    assert.match(await c.cmd('FETCH 2 ENVELOPE'), /^\* 2 FETCH \(ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" "Legacy" /);
    assert.equal(blobReads, 1);
    assert.equal((await h.domain.store.readSummaries([legacy!.blobId])).size, 1);
    blobReads = 0;
    await c.cmd('FETCH 2 BODYSTRUCTURE');
    assert.equal(blobReads, 0);
  });

  it('answers ENVELOPE from the encoded cache exactly as from the parsed summary, with and without UTF8=ACCEPT', async () => {
    await h.domain.deliver(ALICE, message({ subject: 'Caf\u00e9 "menu"' }));
    const plain = await h.open({ login: true });
    await plain.cmd('SELECT INBOX');
    const envelopeOf = (r: string) => r.slice(r.indexOf('ENVELOPE '), r.indexOf(' PREVIEW') > 0 ? r.indexOf(' PREVIEW') : r.lastIndexOf(')'));
    const cached = await plain.cmd('FETCH 3 ENVELOPE');
    const parsed = await plain.cmd('FETCH 3 (ENVELOPE PREVIEW)');
    assert.match(cached, /ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" \{12\}\r\nCaf\u00c3\u00a9 "menu" /, 'raw 8-bit header bytes: a literal');
    assert.equal(envelopeOf(cached), envelopeOf(parsed));
    const utf8 = await h.open({ login: true });
    await utf8.cmd('ENABLE UTF8=ACCEPT');
    await utf8.cmd('SELECT INBOX');
    assert.equal(envelopeOf(await utf8.cmd('FETCH 3 ENVELOPE')), envelopeOf(await utf8.cmd('FETCH 3 (ENVELOPE PREVIEW)')));
    assert.equal(envelopeOf(await plain.cmd('FETCH 3 ENVELOPE')), envelopeOf(cached));
  });

  it('a full download (BODY.PEEK[]) reads no summary; the bytes and partials are exact', async () => {
    const store = h.domain.store;
    const readSummaries = store.readSummaries.bind(store);
    let summaryReads = 0;
    store.readSummaries = async (ids: string[]) => {
      summaryReads++;
      return readSummaries(ids);
    };
    try {
      const c = await h.open({ login: true });
      await c.cmd('SELECT INBOX');
      const [meta] = await store.getMessages((await h.domain.getMailbox(1, 'INBOX'))!.id, [1]);
      const raw = (await store.readBlob(meta!.blobId))!.toString('latin1');
      const whole = await c.cmd('FETCH 1:* (BODY.PEEK[] RFC822.SIZE)');
      assert.equal(summaryReads, 0);
      assert.ok(whole.includes(`* 1 FETCH (BODY[] {${raw.length}}\r\n${raw} RFC822.SIZE ${raw.length})\r\n`));
      assert.equal((whole.match(/^\* \d+ FETCH /gm) ?? []).length, 3);
      const partial = await c.cmd('FETCH 1 BODY.PEEK[]<5.10>');
      assert.ok(partial.startsWith(`* 1 FETCH (BODY[]<5> {10}\r\n${raw.slice(5, 15)})\r\n`));
      assert.equal(summaryReads, 0);
    } finally {
      store.readSummaries = readSummaries;
    }
  });
});
