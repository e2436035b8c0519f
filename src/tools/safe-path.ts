/**
 * Paths built from outside data — server folder names and UIDLs, an
 * archive's manifest, the names in a Maildir or .eml tree — must stay inside
 * their root (issue 9, "Paths that escape"). One rule for every such path:
 * it is relative, has no ".." level and no NUL, each level fits a file system
 * (255 bytes) and the whole fits PATH_MAX; joined to its root it resolves
 * inside it; and where a file is read, the real path (symbolic links
 * followed) is inside the root's real path and names a regular file. A path
 * that breaks the rule raises UnsafePathError, which callers count as
 * "refused" and go on with the rest.
 *
 * Not proof against someone who swaps directories for symbolic links while
 * the tool runs (the final level is opened with O_NOFOLLOW; the levels above
 * it are checked just before): that needs write access to the root already.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ToolError } from './errors.js';

/** NAME_MAX of Linux file systems (ext4, xfs, btrfs, tmpfs), in bytes. */
export const MAX_NAME_BYTES = 255;
/** PATH_MAX minus the terminating NUL. */
export const MAX_PATH_BYTES = 4095;

export class UnsafePathError extends ToolError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`unsafe path ${printable(path)}: ${reason}`, 'local');
    this.name = 'UnsafePathError';
  }
}

/** A name for a report line: control characters written as \uXXXX so a crafted name cannot rewrite the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The levels of a relative path from outside data, "." and empty levels
 * dropped; throws UnsafePathError for an absolute path, a ".." level, a NUL,
 * or a level or whole path too long for a file system.
 */
export function relativeLevels(path: string): string[] {
  if (typeof path !== 'string') throw new UnsafePathError(String(path), 'not a string');
  if (path.includes('\0')) throw new UnsafePathError(path, 'contains a NUL character');
  if (isAbsolute(path)) throw new UnsafePathError(path, 'is an absolute path');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new UnsafePathError(path, `is longer than ${MAX_PATH_BYTES} bytes`);
  const levels: string[] = [];
  for (const level of path.split('/')) {
    if (level === '' || level === '.') continue;
    if (level === '..') throw new UnsafePathError(path, 'has a ".." level');
    if (Buffer.byteLength(level) > MAX_NAME_BYTES) throw new UnsafePathError(path, `has a level longer than ${MAX_NAME_BYTES} bytes`);
    levels.push(level);
  }
  return levels;
}

/** True when `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** root + parts, each part checked by relativeLevels; the result is checked to lie inside root. */
export function safeJoin(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const levels = parts.flatMap((part) => relativeLevels(part));
  const joined = join(base, ...levels);
  if (!isInside(base, joined)) throw new UnsafePathError(parts.join('/'), 'leads outside its directory');
  return joined;
}

/**
 * safeJoin, then the real path with symbolic links followed, which must lie
 * inside the root's real path. Errors of the file system (ENOENT) pass through.
 */
export async function resolveInside(root: string, path: string): Promise<string> {
  const joined = safeJoin(root, path);
  const [realRoot, real] = await Promise.all([realpath(root), realpath(joined)]);
  if (!isInside(realRoot, real)) throw new UnsafePathError(path, 'is a symbolic link that leads outside its directory');
  return real;
}

/**
 * Opens a regular file inside root for reading. A FIFO, device or directory
 * is refused without blocking (O_NONBLOCK), and the last level is opened with
 * O_NOFOLLOW, so it is the file that resolveInside checked.
 */
export async function openInside(root: string, path: string): Promise<{ handle: FileHandle; size: number }> {
  const real = await resolveInside(root, path);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafePathError(path, 'is not a regular file');
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Reads a regular file inside root. With `expectedSize`, a file of another
 * size is refused before it is read (a manifest states each file's size), so
 * a crafted entry cannot make the tool read something huge.
 */
export async function readInside(root: string, path: string, expectedSize?: number): Promise<Buffer> {
  const { handle, size } = await openInside(root, path);
  try {
    if (expectedSize !== undefined && size !== expectedSize) {
      throw new Error(`the file has ${size} bytes, the manifest says ${expectedSize} (run archive verify)`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
