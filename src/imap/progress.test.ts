/** INPROGRESS (RFC 9585): untagged progress while a long SEARCH, SORT, COPY or MOVE runs. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';
import { progressTiming } from './progress.js';

let h: Harness;
const saved = { ...progressTiming };
before(async () => {
  h = await createHarness();
  for (let i = 1; i <= 3; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
  // Progress is due at once; the command is held until the client has seen it (no clock in the test).
  progressTiming.firstMs = 0;
  progressTiming.everyMs = 0;
});
after(async () => {
  Object.assign(progressTiming, saved);
  await h.close();
});

/** Holds the next call of a domain method until `release` is called. */
function hold<K extends 'messagesByUid' | 'copyMessages'>(name: K): { release: () => void } {
  const domain = h.domain as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = domain[name]!;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  domain[name] = async function (this: unknown, ...args: unknown[]) {
    domain[name] = original;
    await gate;
    return original.apply(this, args);
  };
  return { release };
}

it('a SEARCH still running gets OK [INPROGRESS ("tag" NIL NIL)] before its results, none after the tagged reply', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const held = hold('messagesByUid');
  c.conn.take();
  c.conn.send('s1 SEARCH ALL\r\n');
  await c.conn.waitFor('* OK [INPROGRESS ("s1" NIL NIL)] Still searching\r\n');
  held.release();
  const reply = await c.waitTagged('s1');
  assert.match(reply, /\* SEARCH 1 2 3\r\ns1 OK SEARCH completed\r\n$/);
  assert.ok(!reply.slice(reply.indexOf('* SEARCH')).includes('INPROGRESS'), reply);
  // A quick command sends none once it is done.
  assert.doesNotMatch(await c.cmd('NOOP'), /INPROGRESS/);
});

it('COPY reports progress the same way', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const held = hold('copyMessages');
  c.conn.take();
  c.conn.send('c1 COPY 1:3 Archive\r\n');
  await c.conn.waitFor('* OK [INPROGRESS ("c1" NIL NIL)] Still copying\r\n');
  held.release();
  assert.match(await c.waitTagged('c1'), /c1 OK \[COPYUID \d+ 1:3 1:3\] COPY completed\r\n$/);
});
