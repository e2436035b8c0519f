/**
 * The summarizer pool (issue 9, "Mail that freezes the server"): a large
 * message's summary is computed on a worker thread while the event loop goes
 * on; a worker that crashes or hangs is replaced and the message still gets a
 * valid (minimal) summary. Runs the worker from the sources under tsx; the
 * integration tests run it from dist/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { minimalSummaryJson, parseSummary, summaryJson } from '../mail/index.js';
import { Summarizer } from './summarizer.js';

const dir = mkdtempSync(join(tmpdir(), 'summarizer-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, source: string): URL {
  const path = join(dir, name);
  writeFileSync(path, source);
  return pathToFileURL(path);
}

/** 2,000 parts each with a 5 KB Content-Type: about 10 MB, hundreds of ms to summarise. */
function hostile(): Buffer {
  let ct = 'text/plain';
  for (let i = 0; ct.length < 5000; i++) ct += `; p${i}="${'v'.repeat(40)}"`;
  const chunks = ['Subject: hostile\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'];
  for (let i = 0; i < 2000; i++) chunks.push(`--b\r\nContent-Type: ${ct}\r\n\r\nbody ${i}\r\n`);
  chunks.push('--b--\r\n');
  return Buffer.from(chunks.join(''));
}

test('a large message is summarised on a worker, with the same answer as inline, while the event loop runs', async () => {
  const pool = new Summarizer({ workers: 1 });
  try {
    const raw = hostile();
    let settled = false;
    const summary = pool.summaryOf(raw).then((json) => {
      settled = true;
      return json;
    });
    // Inline, summaryOf would have computed the summary before returning: it would be settled by the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'the summary is not computed on the event loop');
    assert.equal(await summary, summaryJson(raw));
    assert.ok(raw.length > 0, 'the caller keeps its Buffer (copied, not transferred)');
    assert.equal(raw.subarray(0, 8).toString(), 'Subject:');
  } finally {
    await pool.close();
  }
});

test('a small message is summarised inline', async () => {
  const pool = new Summarizer({ workers: 1 });
  try {
    const raw = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    assert.equal(await pool.summaryOf(raw), summaryJson(raw));
  } finally {
    await pool.close();
  }
});

test('messages arriving together wait for the one worker and each gets its own full summary', async () => {
  // Once a slot is free again the next waiting message must go to it, not wait for a later arrival.
  let failures = 0;
  const pool = new Summarizer({ workers: 1, inlineMaxOctets: 1, onFailure: () => failures++ });
  try {
    const raws = [1, 2, 3, 4].map((n) => Buffer.from(`Subject: message ${n}\r\n\r\n${'x'.repeat(1000 * n)}\r\n`));
    const summaries = await Promise.all(raws.map((raw) => pool.summaryOf(raw)));
    assert.deepEqual(summaries, raws.map((raw) => summaryJson(raw)));
    assert.equal(failures, 0);
  } finally {
    await pool.close();
  }
});

test('a worker that crashes is replaced and the message gets the minimal summary', async () => {
  const failures: string[] = [];
  const entry = script('crash.mjs', "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => process.exit(3));");
  const pool = new Summarizer({ workers: 1, inlineMaxOctets: 0, entry, onFailure: (reason) => failures.push(reason) });
  try {
    const raw = hostile();
    const [a, b] = await Promise.all([pool.summaryOf(raw), pool.summaryOf(raw)]);
    assert.equal(a, minimalSummaryJson(raw));
    assert.equal(b, a, 'the next message is sent to a new worker');
    assert.equal(failures.length, 2);
    assert.match(failures[0]!, /exited with code 3/);
    const summary = parseSummary(a)!;
    assert.equal((summary.envelope as unknown[])[1], 'hostile');
    assert.deepEqual((summary.bodyStructure as unknown[]).slice(0, 2), ['text', 'plain']);
  } finally {
    await pool.close();
  }
});

test('a worker that takes too long is terminated and the message gets the minimal summary', async () => {
  const failures: string[] = [];
  const entry = script('hang.mjs', "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => { for (;;); });");
  const pool = new Summarizer({ workers: 1, inlineMaxOctets: 0, timeoutMs: 200, entry, onFailure: (reason) => failures.push(reason) });
  try {
    const raw = Buffer.from('Subject: slow\r\n\r\nbody\r\n');
    assert.equal(await pool.summaryOf(raw), minimalSummaryJson(raw));
    assert.match(failures[0]!, /no summary after 200 ms/);
  } finally {
    await pool.close();
  }
});

test('close() gives messages still waiting the minimal summary, and later ones are summarised inline', async () => {
  const entry = script('never.mjs', "import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {});");
  const pool = new Summarizer({ workers: 1, inlineMaxOctets: 0, entry });
  const raw = Buffer.from('Subject: late\r\n\r\nbody\r\n');
  const pending = [pool.summaryOf(raw), pool.summaryOf(raw)];
  await pool.close();
  assert.deepEqual(await Promise.all(pending), [minimalSummaryJson(raw), minimalSummaryJson(raw)]);
  assert.equal(await pool.summaryOf(raw), summaryJson(raw));
});

test('a stored body is sent to the worker in pieces and gets the summary of the whole; the fallback reads it again', async () => {
  const raw = hostile();
  const pieces = () => {
    const out: Buffer[] = [];
    for (let o = 0; o < raw.length; o += 64 * 1024) out.push(Buffer.from(raw.subarray(o, o + 64 * 1024)));
    return out;
  };
  let opened = 0;
  const open = async () => {
    opened++;
    return (async function* () {
      yield* pieces();
    })();
  };
  const pool = new Summarizer({ workers: 1 });
  try {
    assert.equal(await pool.summaryOfBody(raw.length, open), summaryJson(raw));
    assert.equal(opened, 1, 'read once');
    // Twice in a row: the worker that took a large message was replaced, the next one answers as well.
    assert.equal(await pool.summaryOfBody(raw.length, open), summaryJson(raw));
  } finally {
    await pool.close();
  }
  const crashing = new Summarizer({ workers: 1, entry: script('exits.mjs', 'process.exit(3);\n'), onFailure: () => {} });
  try {
    opened = 0;
    assert.equal(await crashing.summaryOfBody(raw.length, open), minimalSummaryJson(raw));
  } finally {
    await crashing.close();
  }
});
