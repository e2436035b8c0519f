import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBus } from '../notify/bus.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { MailStore } from '../store/types.js';
import { MailDomain } from './mail-domain.js';
import { DEFAULT_POP3_POLICY, type Pop3Policy } from './pop3-policy.js';
import { runRetention } from './retention.js';

let store: MailStore;
let domain: MailDomain;
let counter = 0;
const DAY = 24 * 60 * 60 * 1000;
const T0 = new Date('2026-03-01T12:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);

before(async () => {
  store = await openSqliteStore(':memory:');
  domain = new MailDomain(store, new LocalBus());
});
after(async () => {
  await store.close();
});

/** An account with three INBOX messages: 0 downloaded at T0 by the laptop, 1 at T0+5d by the phone, 2 never. */
async function setup(policy: Partial<Pop3Policy>) {
  const address = `keep${++counter}@example.com`;
  const account = await domain.createAccount(address, 'pw');
  await store.setPop3Policy(account.id, { ...DEFAULT_POP3_POLICY, ...policy });
  for (const s of ['a', 'b', 'c']) await domain.deliver(address, Buffer.from(`Subject: ${s}\r\n\r\n${s}\r\n`));
  const inbox = await domain.requireMailbox(account.id, 'INBOX');
  const [m0, m1] = await store.listMessages(inbox.id);
  await store.recordPop3Session(account.id, 'laptop', { retrieved: [m0.uidl], deleted: [] }, T0);
  await store.recordPop3Session(account.id, 'phone', { retrieved: [m1.uidl, m0.uidl], deleted: [] }, at(5));
  const uids = async (name: string) => (await store.listMessages((await domain.requireMailbox(account.id, name)).id)).map((m) => m.uid);
  return { account, inbox, uids };
}

test('expire=7: removes what was first downloaded 7+ days ago, counting from the earliest device', async () => {
  const { account, uids } = await setup({ expireDays: 7 });
  const mine = (results: Awaited<ReturnType<typeof runRetention>>) => results.find((r) => r.address === account.address);
  assert.equal(mine(await runRetention(domain, at(6.9)))?.count, 0);
  assert.deepEqual(await uids('INBOX'), [1, 2, 3]);
  assert.deepEqual(mine(await runRetention(domain, at(7))), { address: account.address, expireDays: 7, action: 'removed', count: 1, forgotten: 2 });
  assert.deepEqual(await uids('INBOX'), [2, 3]);
  assert.equal(mine(await runRetention(domain, at(12)))?.count, 1);
  assert.deepEqual(await uids('INBOX'), [3], 'never-downloaded mail stays, whatever its age');
  assert.deepEqual(await store.listPop3DeviceState(account.id), [], 'state of removed mail is forgotten');
});

test('expire with dele=archive moves to Archive once; dele=trash moves to Trash', async () => {
  const archived = await setup({ expireDays: 1, dele: 'archive', scope: 'all' });
  await runRetention(domain, at(10));
  assert.deepEqual(await archived.uids('INBOX'), [3]);
  assert.equal((await archived.uids('Archive')).length, 2);
  await runRetention(domain, at(20));
  assert.equal((await archived.uids('Archive')).length, 2, 'archived mail is not expired again');

  const trashed = await setup({ expireDays: 1, dele: 'trash' });
  const results = await runRetention(domain, at(10));
  assert.equal(results.find((r) => r.address === trashed.account.address)?.action, 'trashed');
  assert.equal((await trashed.uids('Trash')).length, 2);
});

test('no EXPIRE policy: nothing is removed', async () => {
  const { uids } = await setup({});
  await runRetention(domain, at(1000));
  assert.deepEqual(await uids('INBOX'), [1, 2, 3]);
});
