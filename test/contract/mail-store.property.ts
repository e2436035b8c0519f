/**
 * Random operation sequences against a MailStore, checking what IMAP sessions
 * rely on: a snapshot taken at any HIGHESTMODSEQ plus getChanges(since) equals
 * the current state; UIDs ascend and are never reused; UIDNEXT and
 * HIGHESTMODSEQ never go back; usage equals the sum of message sizes; the
 * mailbox counters equal a recount after every step; each message's POP3
 * size is its CRLF octet count.
 * Part of the contract: runMailStoreContract calls it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { wireSize } from '../../src/protocol/pop3/index.js';
import type { FlagOperation, Mailbox, MailStore, MessageMeta } from '../../src/store/types.js';
import { counters, recount } from './counters.contract.js';

type Op =
  | { kind: 'append'; box: number; body: number; flags: string[] }
  | { kind: 'flags'; box: number; picks: number[]; op: FlagOperation; flags: string[] }
  | { kind: 'expunge'; box: number; picks: number[] }
  | { kind: 'copy' | 'move'; box: number; picks: number[]; to: number };

/** CRLF mail and mail as some imports leave it (bare LF, no final line end), so POP3 sizes differ from sizes. */
const BODIES = ['body 0\r\n', 'body 1\nline\n', 'body 2\r\n.dot', 'body 3\n\r\n\n'];

const flagsArb = fc.subarray(['\\Seen', '\\Flagged', '\\Deleted', '$Work', 'todo']);
const picksArb = fc.array(fc.nat({ max: 12 }), { maxLength: 4 });
const boxArb = fc.nat({ max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), box: boxArb, body: fc.nat({ max: BODIES.length - 1 }), flags: flagsArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('flags' as const),
      box: boxArb,
      picks: picksArb,
      op: fc.constantFrom<FlagOperation>('add', 'remove', 'replace'),
      flags: flagsArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('expunge' as const), box: boxArb, picks: picksArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('copy' as const, 'move' as const), box: boxArb, picks: picksArb, to: boxArb }) },
);

interface Snapshot {
  mailbox: Mailbox;
  messages: Map<number, string>; // uid -> flags joined
}

const key = (m: MessageMeta) => `${m.flags.join(' ')}|${m.modSeq}|${m.blobId}`;

async function snapshot(store: MailStore, mailboxId: number): Promise<Snapshot> {
  const mailbox = (await store.getMailboxById(mailboxId))!;
  const messages = new Map((await store.listMessages(mailboxId)).map((m) => [m.uid, key(m)] as const));
  return { mailbox, messages };
}

export function runMailStoreProperties(newStore: () => Promise<MailStore>, numRuns = 25): void {
  it('keeps the change log, UIDs, MODSEQs, counters and usage consistent under random operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), async (ops) => {
        const store = await newStore();
        try {
          const account = await store.createAccount('prop@example.com', 'h', null);
          // The third mailbox belongs to another account: cross-account copies and moves.
          const other = await store.createAccount('other@example.com', 'h', null);
          const boxes = [
            await store.createMailbox(account.id, 'INBOX'),
            await store.createMailbox(account.id, 'Other'),
            await store.createMailbox(other.id, 'INBOX'),
          ];
          const snapshots: Snapshot[] = [];
          const maxUidSeen = [0, 0, 0];
          for (const op of ops) {
            const box = boxes[op.box];
            const uids = (await store.listMessages(box.id)).map((m) => m.uid);
            const picked = op.kind === 'append' ? [] : op.picks.map((i) => uids[i] ?? i + 100);
            if (op.kind === 'append') {
              const r = await store.appendMessage(box.id, { content: Buffer.from(BODIES[op.body]), flags: op.flags });
              assert.ok(r.uid > maxUidSeen[op.box], 'a new UID is larger than every earlier one');
            } else if (op.kind === 'flags') {
              const changed = await store.updateFlags(box.id, picked, op.op, op.flags);
              const top = (await store.getMailboxById(box.id))!.highestModSeq;
              assert.ok(changed.every((m) => m.modSeq === top));
            } else if (op.kind === 'expunge') {
              await store.expungeMessages(box.id, picked);
            } else {
              const target = boxes[op.to];
              const result = op.kind === 'copy'
                ? await store.copyMessages(box.id, picked, target.id)
                : await store.moveMessages(box.id, picked, target.id);
              for (const [, uid] of result.uidMap) assert.ok(uid > maxUidSeen[op.to]);
            }
            for (let b = 0; b < boxes.length; b++) {
              const snap = await snapshot(store, boxes[b].id);
              const previous = snapshots.filter((s) => s.mailbox.id === boxes[b].id).at(-1);
              if (previous) {
                assert.ok(snap.mailbox.uidNext >= previous.mailbox.uidNext, 'UIDNEXT never goes back');
                assert.ok(snap.mailbox.highestModSeq >= previous.mailbox.highestModSeq, 'HIGHESTMODSEQ never goes back');
              }
              const sorted = [...snap.messages.keys()];
              assert.ok(sorted.every((uid, i) => i === 0 || uid > sorted[i - 1]), 'ascending UIDs');
              assert.ok(sorted.every((uid) => uid < snap.mailbox.uidNext));
              maxUidSeen[b] = Math.max(maxUidSeen[b], snap.mailbox.uidNext - 1);
              assert.deepEqual(await counters(store, boxes[b].id), await recount(store, boxes[b].id), 'counters equal a recount');
              snapshots.push(snap);
            }
          }
          // Replaying the change log onto any earlier snapshot gives the present.
          for (const snap of snapshots) {
            const changes = await store.getChanges(snap.mailbox.id, snap.mailbox.highestModSeq);
            const replayed = new Map(snap.messages);
            for (const uid of changes.expunged) replayed.delete(uid);
            for (const m of changes.changed) replayed.set(m.uid, key(m));
            const now = await snapshot(store, snap.mailbox.id);
            assert.deepEqual([...replayed].sort((a, b) => a[0] - b[0]), [...now.messages]);
            assert.equal(changes.highestModSeq, now.mailbox.highestModSeq);
          }
          const totals = new Map<number, number>([[account.id, 0], [other.id, 0]]);
          for (const box of boxes) {
            for (const m of await store.listMessages(box.id)) {
              assert.ok(m.modSeq <= (await store.getMailboxById(box.id))!.highestModSeq);
              const bytes = await store.readBlob(m.blobId);
              assert.equal(bytes?.length, m.size);
              assert.equal(m.pop3Size, wireSize(bytes!), 'POP3 size is the CRLF octet count');
              totals.set(box.accountId, totals.get(box.accountId)! + m.size);
            }
          }
          for (const [id, total] of totals) {
            assert.equal((await store.getAccountById(id))!.usedBytes, total, 'usage is the sum of sizes');
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns },
    );
  });
}
