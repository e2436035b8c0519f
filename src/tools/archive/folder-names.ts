/**
 * Server folder name <-> Maildir++ directory name (docs/archive.md, "Layout").
 * INBOX (and POP3) is the archive root; any other folder is one directory
 * ".L1.L2…" directly below it, each level in modified UTF-7 as Dovecot
 * writes it (RFC 3501 §5.1.3), so the directory name is printable ASCII and
 * can never contain "/". Within a level, "." is written "&AC4-" and "/" (in a
 * name whose delimiter is not "/") "&AC8-", so a level cannot split or climb.
 * An empty level ("/", "a//b", a leading or trailing delimiter) is written
 * "&AAA-", the mUTF-7 form of NUL, which no IMAP mailbox name can contain
 * (RFC 9051 §9: CHAR8 excludes %x00): so "/" is ".&AAA-.&AAA-", never "..".
 * A name that would be longer than a file system allows (255 bytes), or that
 * would be the archive's lock file, keeps a readable prefix and ends in
 * "~" + 16 hex digits of SHA-256 of delimiter and name; it is the one case
 * where the directory name alone does not give the folder back (the manifest
 * always does).
 */
import { createHash } from 'node:crypto';
import { decodeMailboxName, encodeMailboxName } from '../../protocol/imap/mutf7.js';
import { MAX_NAME_BYTES } from '../safe-path.js';

export const LOCK_NAME = '.mailstead-archive.lock';
const EMPTY_LEVEL = '&AAA-';
const HASH_SUFFIX_CHARS = 17;

function encodeLevel(level: string): string {
  if (level === '') return EMPTY_LEVEL;
  return encodeMailboxName(level).replace(/\./g, '&AC4-').replace(/\//g, '&AC8-');
}

/** The directory of a folder, relative to the archive root: '' for INBOX and POP3, else one level ".A.B". */
export function folderDirName(folder: string | null, delimiter = '/'): string {
  if (folder === null || folder.toUpperCase() === 'INBOX') return '';
  const levels = delimiter ? folder.split(delimiter) : [folder];
  const name = `.${levels.map(encodeLevel).join('.')}`;
  if (name.length <= MAX_NAME_BYTES && name.toLowerCase() !== LOCK_NAME) return name;
  // Cut outside an "&…-" run, so the prefix still decodes.
  let prefix = name.slice(0, MAX_NAME_BYTES - HASH_SUFFIX_CHARS);
  const shift = prefix.lastIndexOf('&');
  if (shift !== -1 && prefix.indexOf('-', shift) === -1) prefix = prefix.slice(0, shift);
  const digest = createHash('sha256').update(`${delimiter}\0${folder}`).digest('hex').slice(0, HASH_SUFFIX_CHARS - 1);
  return `${prefix}~${digest}`;
}

/** ".Sent Items" -> "Sent Items", ".Archive.2019" -> "Archive/2019", ".&AAA-.&AAA-" -> "/"; a level that is not valid mUTF-7 is kept as it is. */
export function folderFromDirName(dirName: string): string {
  return dirName
    .slice(1)
    .split('.')
    .map((level) => {
      if (level === EMPTY_LEVEL) return '';
      try {
        // "&AC4-" and "&AC8-" encode printable ASCII, which strict mUTF-7 forbids: they are our escapes.
        return level.replace(/&[^-]*-|[^&]+|&/g, (token) => (token === '&AC4-' ? '.' : token === '&AC8-' ? '/' : decodeMailboxName(token)));
      } catch {
        return level;
      }
    })
    .join('/');
}
