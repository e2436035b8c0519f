/**
 * The "POP3 policy and device state" part of the MailStore contract (issue 5):
 * policies per account, per-device download and deletion records keyed by
 * UIDL, and their pruning. Called from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore, Pop3Policy } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runPop3StateContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const t = (iso: string) => new Date(iso);

  describe('POP3 policy and device state', () => {
    it('stores, replaces and reads back a policy per account', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      assert.equal(await store.getPop3Policy(alice.id), null);
      const policy: Pop3Policy = { scope: 'all', since: t('2026-01-02T03:04:05.678Z'), dele: 'archive', expireDays: 14 };
      await store.setPop3Policy(alice.id, policy);
      assert.deepEqual(await store.getPop3Policy(alice.id), policy);
      assert.equal(await store.getPop3Policy(bob.id), null);
      const replaced: Pop3Policy = { scope: 'inbox', since: null, dele: 'hide', expireDays: null };
      await store.setPop3Policy(alice.id, replaced);
      assert.deepEqual(await store.getPop3Policy(alice.id), replaced);
      await assert.rejects(
        store.setPop3Policy(alice.id + bob.id + 100, replaced),
        (e: unknown) => e instanceof StoreError && e.code === 'STORE_NO_SUCH_ACCOUNT',
      );
    }));

    it('records downloads and deletions per device, keeping the first times', withStore(async (store) => {
      const a = await store.createAccount('alice@example.com', 'h', null);
      await store.recordPop3Session(a.id, 'laptop', { retrieved: ['u1', 'u2'], deleted: ['u1'] }, t('2026-01-01T00:00:00Z'));
      await store.recordPop3Session(a.id, 'phone', { retrieved: ['u2'], deleted: [] }, t('2026-01-03T00:00:00Z'));
      // A second session of the laptop: retrieving again keeps the first download time.
      await store.recordPop3Session(a.id, 'laptop', { retrieved: ['u2'], deleted: ['u2', 'u1'] }, t('2026-01-05T00:00:00Z'));
      await store.recordPop3Session(a.id, '', { retrieved: [], deleted: ['u3'] }, t('2026-01-06T00:00:00Z'));
      await store.recordPop3Session(a.id, 'idle', { retrieved: [], deleted: [] }, t('2026-01-07T00:00:00Z'));

      assert.deepEqual(await store.listPop3Deleted(a.id, ['laptop']), ['u1', 'u2']);
      assert.deepEqual(await store.listPop3Deleted(a.id, ['phone']), []);
      assert.deepEqual(await store.listPop3Deleted(a.id, ['', 'phone']), ['u3']);
      assert.deepEqual(await store.listPop3Deleted(a.id, []), []);
      assert.deepEqual(await store.listPop3Downloads(a.id), [
        { uidl: 'u1', firstDownloadedAt: t('2026-01-01T00:00:00Z') },
        { uidl: 'u2', firstDownloadedAt: t('2026-01-01T00:00:00Z') },
      ]);
      assert.deepEqual(await store.listPop3DeviceState(a.id), [
        { device: '', uidl: 'u3', downloadedAt: null, deletedAt: t('2026-01-06T00:00:00Z') },
        { device: 'laptop', uidl: 'u1', downloadedAt: t('2026-01-01T00:00:00Z'), deletedAt: t('2026-01-01T00:00:00Z') },
        { device: 'laptop', uidl: 'u2', downloadedAt: t('2026-01-01T00:00:00Z'), deletedAt: t('2026-01-05T00:00:00Z') },
        { device: 'phone', uidl: 'u2', downloadedAt: t('2026-01-03T00:00:00Z'), deletedAt: null },
      ]);
    }));

    it('keeps accounts apart, prunes vanished UIDLs, and goes with the account', withStore(async (store) => {
      const a = await store.createAccount('alice@example.com', 'h', null);
      const b = await store.createAccount('bob@example.com', 'h', null);
      await store.recordPop3Session(a.id, 'x', { retrieved: ['u1', 'u2', 'u3'], deleted: ['u1'] }, t('2026-01-01T00:00:00Z'));
      await store.recordPop3Session(b.id, 'x', { retrieved: ['u1'], deleted: [] }, t('2026-01-01T00:00:00Z'));
      assert.deepEqual((await store.listPop3Downloads(b.id)).map((d) => d.uidl), ['u1']);
      assert.equal(await store.prunePop3State(a.id, ['u2', 'other']), 2);
      assert.deepEqual((await store.listPop3DeviceState(a.id)).map((r) => r.uidl), ['u2']);
      assert.deepEqual(await store.listPop3Deleted(a.id, ['x']), []);
      assert.equal((await store.listPop3DeviceState(b.id)).length, 1, "bob's state untouched");
      await store.setPop3Policy(a.id, { scope: 'inbox', since: null, dele: 'seen', expireDays: 3 });
      await store.deleteAccount(a.id);
      const again = await store.createAccount('alice@example.com', 'h', null);
      assert.equal(await store.getPop3Policy(again.id), null);
      assert.deepEqual(await store.listPop3DeviceState(again.id), []);
      await assert.rejects(
        store.recordPop3Session(a.id, 'x', { retrieved: ['u9'], deleted: [] }, new Date()),
        (e: unknown) => e instanceof StoreError && e.code === 'STORE_NO_SUCH_ACCOUNT',
      );
    }));
  });
}
