import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../observability/log.js';
import { LocalBus } from './bus.js';
import { listenForSignals, notifySocketPath } from './process-bridge.js';

describe('notify.sock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'mailstead-notify-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('is created with mode 0600 whatever the umask, and the umask is restored', async () => {
    const dir = newDir();
    const previous = process.umask(0);
    try {
      const server = await listenForSignals(dir, new LocalBus(), silentLogger());
      assert.equal(process.umask(0), 0, 'the caller\'s umask is back');
      assert.equal((lstatSync(notifySocketPath(dir)).mode & 0o777).toString(8), '600');
      server!.close();
    } finally {
      process.umask(previous);
    }
  });

  test('a socket already at the path (left by a killed server) is replaced', async () => {
    const dir = newDir();
    // The caller holds the data directory lock, so any socket found there is stale.
    const leftover = createServer();
    await new Promise<void>((resolve) => leftover.listen(notifySocketPath(dir), () => resolve()));
    const leftoverIno = lstatSync(notifySocketPath(dir)).ino;
    const server = await listenForSignals(dir, new LocalBus(), silentLogger());
    assert.ok(lstatSync(notifySocketPath(dir)).isSocket());
    assert.notEqual(lstatSync(notifySocketPath(dir)).ino, leftoverIno);
    server!.close();
    leftover.close();
  });

  for (const kind of ['symlink', 'file', 'directory'] as const) {
    test(`a ${kind} at the path is neither followed nor removed`, async () => {
      const dir = newDir();
      const victim = join(dir, 'victim');
      writeFileSync(victim, 'keep me');
      const path = notifySocketPath(dir);
      if (kind === 'symlink') symlinkSync(victim, path);
      else if (kind === 'file') writeFileSync(path, 'not a socket');
      else mkdirSync(path);
      await assert.rejects(listenForSignals(dir, new LocalBus(), silentLogger()), /exists and is not a socket/);
      const stats = lstatSync(path);
      assert.equal(stats.isSymbolicLink(), kind === 'symlink');
      assert.equal(stats.isDirectory(), kind === 'directory');
      assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    });
  }
});
