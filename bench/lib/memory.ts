/** Resident memory of processes, read from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** VmRSS in bytes, or 0 when the process is gone. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Proportional set size in bytes: shared pages divided among the processes
 * sharing them, so a sum over Dovecot's forked processes does not count its
 * libraries once per process as an RSS sum does.
 */
export function pssBytes(pid: number): number {
  const m = /^Pss:\s+(\d+) kB$/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? '');
  return m ? Number(m[1]) * 1024 : 0;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function parentOf(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return -1;
  // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The first process whose command line (NULs as spaces) satisfies `match`. */
export function findProcess(match: (cmdline: string) => boolean): number | null {
  for (const pid of allPids()) {
    const cmdline = read(`/proc/${pid}/cmdline`)?.replaceAll('\0', ' ') ?? '';
    if (cmdline && match(cmdline)) return pid;
  }
  return null;
}

/** Every descendant of `root`. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const ppid = parentOf(pid);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
