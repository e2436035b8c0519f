/**
 * Which processes have the SQLite store open for writing, so that startup
 * recovery walks every body file only after one of them ended uncleanly
 * (with a million bodies that walk is a slow start). Each writer holds a
 * mark: a file in `<db>.open/` named by its pid and a random instance,
 * created and synced before its first write and removed by its orderly
 * close. A mark whose process is gone is the trace of a kill -9, a crash or
 * a power cut: what it may have left half-done (a body written and never
 * committed, a body whose expunge committed but whose file was not yet
 * removed) is what the walk removes. The server and the `user`, `deliver`
 * and `import` commands running beside it all hold marks, so a command
 * killed mid-delivery is seen too.
 *
 * A store whose directory has no marks yet was left by an older release,
 * which may have crashed: the directory is created with a mark of that past
 * (BEFORE_MARKS), which only a full walk removes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDirSync, isAlive } from '../blobs/fs-sync.js';

const BEFORE_MARKS = 'before-marks';
/** This module instance: one per thread, so two threads of one process hold two marks. */
const INSTANCE = randomBytes(6).toString('hex');
/** When this process started (the same in every thread, within a few milliseconds). */
const PROCESS_STARTED_MS = Date.now() - process.uptime() * 1000;
/**
 * Two marks with the same pid are of one process when their recorded start
 * times are this close; a process before us with our pid (a container
 * restarted) started earlier by at least its own lifetime and our boot.
 */
const SAME_PROCESS_MS = 50;
const MARK_NAME = /^(\d{1,10})-([0-9a-f]{12})$/;

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export class OpenMarks {
  private released = false;

  private constructor(
    readonly dir: string,
    /** Null when the mark could not be written (a full disk). */
    private readonly mine: string | null,
  ) {}

  /** The directory of the store at `dbPath`. */
  static dirOf(dbPath: string): string {
    return `${dbPath}.open`;
  }

  /** Takes this writer's mark, durably, before it writes anything. */
  static take(dbPath: string): OpenMarks {
    const dir = OpenMarks.dirOf(dbPath);
    if (!existsSync(dir)) {
      try {
        // Made whole under another name, then renamed: a directory without its BEFORE_MARKS would say "no crash".
        const making = `${dir}.${process.pid}-${INSTANCE}`;
        rmSync(making, { recursive: true, force: true });
        mkdirSync(making, { recursive: true, mode: 0o750 });
        writeFileSync(join(making, BEFORE_MARKS), '');
        fsyncDirSync(making);
        try {
          renameSync(making, dir);
        } catch (err) {
          // Another writer starting at the same moment made it first: theirs serves.
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
          rmSync(making, { recursive: true, force: true });
        }
        fsyncDirSync(dirname(dir));
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        // Without the directory, dead() reports the time before marks: the next start walks, as it must.
        return new OpenMarks(dir, null);
      }
    }
    const mine = `${process.pid}-${INSTANCE}`;
    try {
      writeFileSync(join(dir, mine), `${Math.round(PROCESS_STARTED_MS)}\n`, { mode: 0o640 });
      fsyncDirSync(dir);
    } catch (err) {
      // A full disk must not keep the server from starting (users read and delete mail to free space)
      // nor turn a refused delivery into another error: this writer goes on with whatever part of its
      // mark was written (an empty one still reads as dead once we are gone; release() removes it). With
      // no mark at all, what a later crash leaves half-done is only unreferenced body files, swept at the
      // next start that finds any dead mark.
      if (!isDiskFull(err)) throw err;
    }
    return new OpenMarks(dir, mine);
  }

  /**
   * Marks of writers that ended without closing (and the mark of the time
   * before marks): when there are none, nothing is half-done and startup
   * recovery has nothing to walk. Marks of live writers are left alone.
   */
  dead(): string[] {
    if (!existsSync(this.dir)) return [BEFORE_MARKS];
    const dead: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name !== this.mine && !this.isLive(name)) dead.push(name);
    }
    return dead;
  }

  /** After a full walk: the ends those marks stood for are cleaned up. */
  forget(names: string[]): void {
    for (const name of names) rmSync(join(this.dir, name), { force: true });
  }

  /** An orderly close: this writer left nothing half-done. */
  release(): void {
    if (this.released || this.mine === null) return;
    this.released = true;
    // Not synced: if the removal is lost to a power cut, the next start only walks once more.
    rmSync(join(this.dir, this.mine), { force: true });
  }

  private isLive(name: string): boolean {
    const m = MARK_NAME.exec(name);
    if (!m) return false;
    const pid = Number(m[1]);
    if (pid !== process.pid) return isAlive(pid);
    // Our pid: another thread of this process, or a process before us that had the same pid.
    let started = Number.NaN;
    try {
      started = Number(readFileSync(join(this.dir, name), 'utf8').trim());
    } catch {
      return false;
    }
    return Math.abs(started - PROCESS_STARTED_MS) < SAME_PROCESS_MS;
  }
}
