import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DataDirLocked, lockDataDir, lockHolderPath, readHolder } from './data-dir-lock.js';

const MODULE = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url));

/**
 * A separate process that tries to lock `dir` and prints "locked" or "busy"; a winner holds the
 * lock until its standard input closes (or it is killed).
 */
function contender(dir: string): { child: ChildProcess; outcome: Promise<string>; exited: Promise<void> } {
  const script = `
    import { lockDataDir } from ${JSON.stringify(MODULE)};
    try { lockDataDir(${JSON.stringify(dir)}); console.log('locked'); }
    catch (err) { console.log(err.name === 'DataDirLocked' ? 'busy' : 'error ' + err.message); process.exit(0); }
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const outcome = new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => resolve(out.trim() || 'exited'));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, outcome, exited };
}

describe('data directory lock', () => {
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'mailstead-lock-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('a second lock is refused, naming the holder; after release the directory can be taken again', () => {
    const dir = newDir();
    const lock = lockDataDir(dir);
    assert.deepEqual(
      { pid: readHolder(dir)?.pid, hostname: readHolder(dir)?.hostname },
      { pid: process.pid, hostname: hostname() },
    );
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) =>
        err instanceof DataDirLocked &&
        err.holder?.pid === process.pid &&
        err.message.includes(`pid ${process.pid}`) &&
        err.message.includes(hostname()),
    );
    lock.release();
    lock.release();
    assert.equal(existsSync(lockHolderPath(dir)), false, 'a clean release removes the holder file');
    lockDataDir(dir).release();
  });

  test('another process holding the lock refuses us; after it is killed with SIGKILL the lock is ours', async () => {
    const dir = newDir();
    const holder = contender(dir);
    assert.equal(await holder.outcome, 'locked');
    assert.throws(() => lockDataDir(dir), (err: unknown) => err instanceof DataDirLocked && err.holder?.pid === holder.child.pid);
    holder.child.kill('SIGKILL');
    await holder.exited;
    // The stale holder file names a dead process; it does not matter: the kernel released the lock.
    const lock = lockDataDir(dir);
    assert.equal(readHolder(dir)?.pid, process.pid);
    lock.release();
  });

  test('of several servers started at the same instant, exactly one gets the directory', async () => {
    const dir = newDir();
    const contenders = Array.from({ length: 4 }, () => contender(dir));
    const outcomes = await Promise.all(contenders.map((c) => c.outcome));
    assert.deepEqual(
      outcomes.slice().sort(),
      ['busy', 'busy', 'busy', 'locked'],
      `outcomes: ${outcomes.join(', ')}`,
    );
    for (const c of contenders) c.child.stdin!.end();
    await Promise.all(contenders.map((c) => c.exited));
  });
});
