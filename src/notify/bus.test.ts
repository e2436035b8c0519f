import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../observability/log.js';
import { LocalBus, type MailboxListSignal, type MailboxSignal } from './bus.js';
import { ForwardingBus, listenForSignals, notifySocketPath } from './process-bridge.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

test('LocalBus keeps mailbox signals and mailbox list signals apart, per account', async () => {
  const bus = new LocalBus();
  const signals: MailboxSignal[] = [];
  const lists: MailboxListSignal[] = [];
  const off = bus.subscribe(1, (s) => signals.push(s));
  const offList = bus.subscribeMailboxList(1, (s) => lists.push(s));
  bus.subscribeMailboxList(2, () => assert.fail('another account'));
  bus.publish({ accountId: 1, mailboxId: 7 });
  bus.publishMailboxList({ accountId: 1, change: 'renamed', name: 'b', oldName: 'a', origin: 's1' });
  await tick();
  assert.deepEqual(signals, [{ accountId: 1, mailboxId: 7 }]);
  assert.deepEqual(lists, [{ accountId: 1, change: 'renamed', name: 'b', oldName: 'a', origin: 's1' }]);
  offList();
  bus.publishMailboxList({ accountId: 1, change: 'deleted', name: 'b' });
  off();
  bus.publish({ accountId: 1, mailboxId: 8 });
  await tick();
  assert.equal(lists.length, 1);
  assert.equal(signals.length, 1);
  await bus.close();
});

test('the process bridge carries both kinds from a CLI process and drops malformed lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailstead-bus-'));
  const bus = new LocalBus();
  const server = await listenForSignals(dir, bus, silentLogger());
  assert.ok(server);
  try {
    const signals: MailboxSignal[] = [];
    const lists: MailboxListSignal[] = [];
    // Wait for signals to arrive (an event), not for a while: a loaded machine may take long.
    let arrived = () => {};
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((resolve) => (arrived = resolve));
    };
    bus.subscribe(3, (s) => (signals.push(s), arrived()));
    bus.subscribeMailboxList(3, (s) => (lists.push(s), arrived()));
    const forwarding = new ForwardingBus(dir);
    forwarding.publish({ accountId: 3, mailboxId: 9 });
    forwarding.publishMailboxList({ accountId: 3, change: 'created', name: 'Grün/x' });
    forwarding.publishMailboxList({ accountId: 3, change: 'renamed', name: 'new', oldName: 'old', origin: 'forged' });
    await forwarding.close();
    // Malformed: unknown change, rename without its old name, empty name, not JSON; then a valid
    // signal on the same connection: lines are read in order, so once it arrives the others were read.
    await new Promise<void>((resolve) => {
      const socket = connect(notifySocketPath(dir), () =>
        socket.end(
          '{"accountId":3,"change":"exploded","name":"x"}\n{"accountId":3,"change":"renamed","name":"x"}\n' +
            '{"accountId":3,"change":"created","name":""}\nnot json\n{"accountId":3,"mailboxId":10}\n',
        ),
      );
      socket.on('close', () => resolve());
    });
    await until(() => signals.length >= 2 && lists.length >= 2);
    signals.sort((a, b) => a.mailboxId - b.mailboxId);
    assert.deepEqual(signals, [
      { accountId: 3, mailboxId: 9 },
      { accountId: 3, mailboxId: 10 },
    ]);
    // Each signal travels on its own connection, so their order is not fixed.
    lists.sort((a, b) => a.change.localeCompare(b.change));
    assert.deepEqual(lists, [
      { accountId: 3, change: 'created', name: 'Grün/x' },
      // origin names a session of this server; a line from another process cannot claim one.
      { accountId: 3, change: 'renamed', name: 'new', oldName: 'old' },
    ]);
  } finally {
    server!.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
