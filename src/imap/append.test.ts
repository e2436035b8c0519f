/** MULTIAPPEND (RFC 3502 §3) is atomic: other sessions see all the messages at once, or none. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ALICE, createHarness, message } from './harness.test.js';

it('MULTIAPPEND stores all messages in one step, or none (quota for the sum), and uses no UID when refused', async () => {
  const m = message({ subject: 'batch', body: 'x'.repeat(400) });
  const h = await createHarness({ quotaBytes: m.length * 3 + m.length / 2 });
  try {
    await h.domain.deliver(ALICE, m);
    const watcher = await h.open({ login: true });
    await watcher.cmd('SELECT INBOX');
    watcher.conn.send('i IDLE\r\n');
    await watcher.conn.waitFor('+ idling\r\n');
    watcher.conn.take();

    const c = await h.open({ login: true });
    const lit = `{${m.length}+}\r\n${m.toString('latin1')}`;
    // Two fit (3 in all); three more would not, though each alone would.
    assert.match(await c.cmd(`APPEND INBOX ${lit} ${lit} ${lit}`), /^t1 NO \[OVERQUOTA\] /);
    assert.match(await c.cmd('STATUS INBOX (MESSAGES UIDNEXT)'), /\* STATUS "INBOX" \(MESSAGES 1 UIDNEXT 2\)/);
    assert.match(await c.cmd(`APPEND INBOX (\\Seen) ${lit} ${lit}`), /^t3 OK \[APPENDUID \d+ 2:3\] APPEND completed\r\n$/);
    // One transaction, one signal: the idle session learns of both messages in one EXISTS.
    // The idle session is the first told of them: they are \Recent there (RFC 3501 §2.3.2).
    assert.equal(await watcher.conn.waitFor('RECENT'), '* 3 EXISTS\r\n* 3 RECENT\r\n');
    watcher.conn.send('DONE\r\n');
    await watcher.waitTagged('i');
    assert.equal(
      await watcher.cmd('FETCH 2:3 (UID FLAGS)'),
      '* 2 FETCH (UID 2 FLAGS (\\Recent \\Seen))\r\n* 3 FETCH (UID 3 FLAGS (\\Recent))\r\nt2 OK FETCH completed\r\n',
    );
    // A bad message later in the batch (here: too big) refuses the whole APPEND before anything is stored.
    const big = Buffer.alloc(1024 * 1024 + 1, 'a');
    assert.match(await c.cmd(`APPEND INBOX ${lit} {${big.length}+}\r\n${big.toString('latin1')}`), /^t4 NO \[TOOBIG\] /);
    assert.match(await c.cmd('STATUS INBOX (MESSAGES)'), /\(MESSAGES 3\)/);
  } finally {
    await h.close();
  }
});

it('a NUL in a plain literal is refused with UNKNOWN-CTE (RFC 9051 §4.3: a literal is CHAR8; binary data goes in a literal8)', async () => {
  const h = await createHarness({});
  try {
    const c = await h.open({ login: true });
    const raw = Buffer.concat([Buffer.from('Subject: bin\r\n\r\nab'), Buffer.from([0]), Buffer.from('cd\r\n')]);
    assert.match(await c.cmd(`APPEND INBOX {${raw.length}+}\r\n${raw.toString('latin1')}`), /^t\d+ NO \[UNKNOWN-CTE\] /);
    // In a literal8 a NUL in a header cannot be re-encoded: refused too.
    const header = Buffer.concat([Buffer.from('Subject: b'), Buffer.from([0]), Buffer.from('n\r\n\r\nabcd\r\n')]);
    c.conn.take();
    c.conn.send(Buffer.concat([Buffer.from(`h1 APPEND INBOX ~{${header.length}+}\r\n`), header, Buffer.from('\r\n')]));
    assert.match(await c.waitTagged('h1'), /^h1 NO \[UNKNOWN-CTE\] /);
    assert.match(await c.cmd('STATUS INBOX (MESSAGES)'), /\(MESSAGES 0\)/);
  } finally {
    await h.close();
  }
});

it('large literals stream into the store: MULTIAPPEND byte for byte, each staged body released once, a disconnect aborts its writer', async () => {
  const h = await createHarness();
  const store = h.domain.store;
  let writers = 0;
  let aborted = 0;
  let released = 0;
  const createBlobWriter = store.createBlobWriter.bind(store);
  store.createBlobWriter = () => {
    writers++;
    const writer = createBlobWriter();
    const abort = writer.abort.bind(writer);
    writer.abort = async () => {
      aborted++;
      return abort();
    };
    return writer;
  };
  const releaseStaged = store.releaseStaged.bind(store);
  store.releaseStaged = async (staged) => {
    released += staged.length;
    return releaseStaged(staged);
  };
  try {
    const c = await h.open({ login: true });
    const big1 = message({ subject: 'one', body: 'a\r\n.'.repeat(40_000) });
    const big2 = message({ subject: 'two', body: 'b'.repeat(300_000) });
    const small = message({ subject: 'three' });
    assert.ok(big1.length > 64 * 1024 && big2.length > 64 * 1024);
    // Synchronising literals: "+" for each, sent only after the limits were checked.
    c.conn.take();
    c.conn.send(`m1 APPEND INBOX {${big1.length}}\r\n`);
    await c.conn.waitFor(/^\+ /);
    c.conn.take();
    c.conn.send(big1);
    c.conn.send(` {${big2.length}+}\r\n`);
    // Bytes split anywhere: the literal is written as it comes.
    for (let o = 0; o < big2.length; o += 7919) c.conn.send(big2.subarray(o, o + 7919));
    c.conn.send(` {${small.length}+}\r\n`);
    c.conn.send(small);
    c.conn.send('\r\n');
    assert.match(await c.waitTagged('m1'), /^m1 OK \[APPENDUID \d+ 1:3\]/);
    // The session hands the streamed bodies back after the command; the next command runs after that.
    await c.cmd('NOOP');
    assert.equal(released, writers, 'every staged body was handed back once');
    await c.cmd('SELECT INBOX');
    const fetched = await c.cmd('UID FETCH 1:3 BODY.PEEK[]');
    for (const m of [big1, big2, small]) assert.ok(fetched.includes(`{${m.length}}\r\n${m.toString('latin1')}`));

    const before = { writers, released, aborted };
    const cut = await h.open({ login: true });
    cut.conn.take();
    cut.conn.send(`x1 APPEND INBOX {${big2.length}}\r\n`);
    await cut.conn.waitFor(/^\+ /);
    cut.conn.send(big2.subarray(0, 100_000));
    cut.conn.session!.closed();
    for (let i = 0; i < 100 && aborted === before.aborted; i++) await new Promise((r) => setImmediate(r));
    assert.equal(writers, before.writers + 1);
    assert.equal(aborted, before.aborted + 1, 'the half-written body was aborted');
    assert.equal(released, before.released, 'nothing was committed');
    assert.match(await c.cmd('STATUS INBOX (MESSAGES)'), /\(MESSAGES 3\)/);
  } finally {
    await h.close();
  }
});
