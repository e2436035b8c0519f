/**
 * The command table (after Dovecot's imap-commands.c): for each command the
 * states it is allowed in and its sequence-number flags.
 *
 * - `usesSeqs`: the command's arguments or results are message sequence
 *   numbers (FETCH, STORE, SEARCH, COPY, MOVE without the UID prefix).
 * - `breaksSeqs`: the command itself renumbers messages and sends EXPUNGE
 *   (EXPUNGE, UID EXPUNGE, CLOSE, MOVE, UID MOVE).
 *
 * RFC 9051 §7.5.1 forbids EXPUNGE while responding to FETCH, STORE or SEARCH
 * ("UID FETCH, UID STORE and UID SEARCH are different commands" and may send
 * it). A command that uses sequence numbers without renumbering itself holds
 * other sessions' expunges until a later command; for COPY that is stricter
 * than the RFC asks, which is always allowed (a server may delay EXPUNGE).
 */
import type { ImapCommand, ImapCommandName } from '../../protocol/imap/types.js';
import type { CommandContext, CommandOf, Completion, StateKind } from '../state.js';
import { authenticateCommand, loginCommand, starttlsCommand } from './auth.js';
import { appendCommand } from './append.js';
import { compressCommand } from './compress.js';
import { copyCommand } from './copy.js';
import { expungeCommand, uidExpungeCommand } from './expunge.js';
import { fetchCommand } from './fetch.js';
import { idleCommand } from './idle.js';
import { listCommand, lsubCommand } from './list.js';
import { createCommand, deleteCommand, renameCommand, subscribeCommand } from './mailboxes.js';
import { capabilityCommand, enableCommand, idCommand, logoutCommand, namespaceCommand, noopCommand } from './misc.js';
import { notifyCommand } from './notify.js';
import { getMetadataCommand, setMetadataCommand } from './metadata.js';
import { getAclCommand, listRightsCommand, myRightsCommand, setAclCommand } from './acl.js';
import { getQuotaCommand, getQuotaRootCommand, setQuotaCommand } from './quota.js';
import { replaceCommand } from './replace.js';
import { searchCommand } from './search.js';
import { sortCommand } from './sort.js';
import { cancelUpdate } from '../search-context.js';
import { threadCommand } from './thread.js';
import { checkCommand, closeCommand, selectCommand, unselectCommand } from './select.js';
import { statusCommand } from './status.js';
import { storeCommand } from './store.js';

export interface CommandSpec {
  /** 'FETCH' or 'UID FETCH', for the log and the table. */
  key: string;
  states: readonly StateKind[];
  usesSeqs: boolean;
  breaksSeqs: boolean;
  /** Derived: EXPUNGE responses wait until a later command. */
  holdsExpunges: boolean;
  run(command: ImapCommand, ctx: CommandContext): Promise<Completion>;
}

const ANY: readonly StateKind[] = ['not-authenticated', 'authenticated', 'selected', 'logout'];
const NOT_AUTH: readonly StateKind[] = ['not-authenticated'];
const AUTH: readonly StateKind[] = ['authenticated', 'selected'];
const SELECTED: readonly StateKind[] = ['selected'];

type Handler<N extends ImapCommandName> = (command: CommandOf<N>, ctx: CommandContext) => Promise<Completion>;

const table = new Map<string, CommandSpec>();

function define<N extends ImapCommandName>(
  key: string,
  states: readonly StateKind[],
  run: Handler<N>,
  flags: { usesSeqs?: boolean; breaksSeqs?: boolean } = {},
): void {
  const usesSeqs = flags.usesSeqs ?? false;
  const breaksSeqs = flags.breaksSeqs ?? false;
  table.set(key, {
    key,
    states,
    usesSeqs,
    breaksSeqs,
    holdsExpunges: usesSeqs && !breaksSeqs,
    run: run as (command: ImapCommand, ctx: CommandContext) => Promise<Completion>,
  });
}

define<'CAPABILITY'>('CAPABILITY', ANY, capabilityCommand);
define<'NOOP'>('NOOP', ANY, noopCommand);
define<'LOGOUT'>('LOGOUT', ANY, logoutCommand);
define<'ID'>('ID', ANY, idCommand);
define<'STARTTLS'>('STARTTLS', NOT_AUTH, starttlsCommand);
define<'LOGIN'>('LOGIN', NOT_AUTH, loginCommand);
define<'AUTHENTICATE'>('AUTHENTICATE', NOT_AUTH, authenticateCommand);
define<'ENABLE'>('ENABLE', AUTH, enableCommand);
define<'NAMESPACE'>('NAMESPACE', AUTH, namespaceCommand);
define<'SELECT'>('SELECT', AUTH, selectCommand);
define<'EXAMINE'>('EXAMINE', AUTH, selectCommand);
define<'CREATE'>('CREATE', AUTH, createCommand);
define<'DELETE'>('DELETE', AUTH, deleteCommand);
define<'RENAME'>('RENAME', AUTH, renameCommand);
define<'SUBSCRIBE'>('SUBSCRIBE', AUTH, subscribeCommand);
define<'UNSUBSCRIBE'>('UNSUBSCRIBE', AUTH, subscribeCommand);
define<'LIST'>('LIST', AUTH, listCommand);
define<'LSUB'>('LSUB', AUTH, lsubCommand);
define<'STATUS'>('STATUS', AUTH, statusCommand);
define<'APPEND'>('APPEND', AUTH, appendCommand);
define<'IDLE'>('IDLE', AUTH, idleCommand);
define<'COMPRESS'>('COMPRESS', AUTH, compressCommand);
define<'GETQUOTA'>('GETQUOTA', AUTH, getQuotaCommand);
define<'GETQUOTAROOT'>('GETQUOTAROOT', AUTH, getQuotaRootCommand);
define<'SETQUOTA'>('SETQUOTA', AUTH, setQuotaCommand);
define<'NOTIFY'>('NOTIFY', AUTH, notifyCommand);
define<'GETMETADATA'>('GETMETADATA', AUTH, getMetadataCommand);
define<'SETMETADATA'>('SETMETADATA', AUTH, setMetadataCommand);
define<'SETACL'>('SETACL', AUTH, setAclCommand);
define<'DELETEACL'>('DELETEACL', AUTH, setAclCommand);
define<'GETACL'>('GETACL', AUTH, getAclCommand);
define<'LISTRIGHTS'>('LISTRIGHTS', AUTH, listRightsCommand);
define<'MYRIGHTS'>('MYRIGHTS', AUTH, myRightsCommand);
define<'CHECK'>('CHECK', SELECTED, checkCommand);
define<'CLOSE'>('CLOSE', SELECTED, closeCommand, { breaksSeqs: true });
define<'UNSELECT'>('UNSELECT', SELECTED, unselectCommand);
define<'EXPUNGE'>('EXPUNGE', SELECTED, expungeCommand, { breaksSeqs: true });
define<'UID EXPUNGE'>('UID EXPUNGE', SELECTED, uidExpungeCommand, { breaksSeqs: true });
define<'FETCH'>('FETCH', SELECTED, fetchCommand, { usesSeqs: true });
define<'FETCH'>('UID FETCH', SELECTED, fetchCommand);
define<'STORE'>('STORE', SELECTED, storeCommand, { usesSeqs: true });
define<'STORE'>('UID STORE', SELECTED, storeCommand);
define<'SEARCH'>('SEARCH', SELECTED, searchCommand, { usesSeqs: true });
define<'SEARCH'>('UID SEARCH', SELECTED, searchCommand);
define<'SORT'>('SORT', SELECTED, sortCommand, { usesSeqs: true });
define<'SORT'>('UID SORT', SELECTED, sortCommand);
define<'CANCELUPDATE'>('CANCELUPDATE', SELECTED, async (cmd, ctx) => cancelUpdate(ctx, cmd.tags));
define<'THREAD'>('THREAD', SELECTED, threadCommand, { usesSeqs: true });
define<'THREAD'>('UID THREAD', SELECTED, threadCommand);
define<'COPY'>('COPY', SELECTED, copyCommand, { usesSeqs: true });
define<'COPY'>('UID COPY', SELECTED, copyCommand);
define<'MOVE'>('MOVE', SELECTED, copyCommand, { usesSeqs: true, breaksSeqs: true });
define<'MOVE'>('UID MOVE', SELECTED, copyCommand, { breaksSeqs: true });
define<'REPLACE'>('REPLACE', SELECTED, replaceCommand, { usesSeqs: true, breaksSeqs: true });
define<'REPLACE'>('UID REPLACE', SELECTED, replaceCommand, { breaksSeqs: true });

export function commandKey(command: ImapCommand): string {
  return 'uid' in command && command.uid ? `UID ${command.name}` : command.name;
}

export function findCommand(command: ImapCommand): CommandSpec | undefined {
  return table.get(commandKey(command));
}

export function wrongStateText(spec: CommandSpec, state: StateKind): string {
  if (state !== 'not-authenticated' && spec.states.every((s) => s === 'not-authenticated')) return 'Already authenticated';
  switch (state) {
    case 'not-authenticated':
      return 'Command requires authentication; LOGIN first';
    case 'authenticated':
      return 'No mailbox selected; SELECT first';
    case 'selected':
    case 'logout':
      return 'Command not valid in this state';
  }
}
