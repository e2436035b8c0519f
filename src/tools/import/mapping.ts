/**
 * Source folder -> target folder. In order: an explicit --map "FROM=TO"
 * (FROM matched case-insensitively); INBOX stays INBOX; a well-known name of
 * a special folder ("Sent Items", "Sent Messages", "Deleted Items", "Spam"...,
 * the last level counts, so "[Gmail]/Sent Mail" too) goes to the folder the
 * server marks with that RFC 6154 attribute, when it has one; otherwise the
 * same name. Names are "/"-delimited here; targets convert to their own.
 */
import { ToolError } from '../errors.js';

export interface TargetFolder {
  name: string;
  specialUse: string | null;
}

const ALIASES: Record<string, string[]> = {
  '\\Sent': ['sent', 'sent items', 'sent messages', 'sent mail', 'sent-mail', 'outbox sent', 'gesendet', 'envoyés', 'enviados'],
  '\\Drafts': ['drafts', 'draft', 'entwürfe', 'brouillons', 'borradores'],
  '\\Trash': ['trash', 'deleted items', 'deleted messages', 'deleted', 'bin', 'papierkorb', 'corbeille', 'papelera'],
  '\\Junk': ['junk', 'spam', 'junk e-mail', 'junk email', 'junk mail', 'bulk mail'],
  '\\Archive': ['archive', 'archives', 'all mail'],
};

export function parseMaps(values: string[]): Map<string, string> {
  const maps = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) throw new ToolError(`--map wants "FROM=TO", not "${value}"`, 'usage');
    maps.set(value.slice(0, eq).trim().toLowerCase(), value.slice(eq + 1).trim());
  }
  return maps;
}

export function specialUseFor(folder: string): string | null {
  const last = folder.split('/').pop()!.toLowerCase();
  for (const [use, names] of Object.entries(ALIASES)) if (names.includes(last)) return use;
  return null;
}

export function mapFolder(source: string, maps: Map<string, string>, targetFolders: TargetFolder[]): string {
  const explicit = maps.get(source.toLowerCase());
  if (explicit) return explicit.toUpperCase() === 'INBOX' ? 'INBOX' : explicit;
  if (source.toUpperCase() === 'INBOX') return 'INBOX';
  const use = specialUseFor(source);
  if (use) {
    const special = targetFolders.find((f) => f.specialUse?.toLowerCase() === use.toLowerCase());
    if (special) return special.name;
  }
  return source;
}
