/** RFC 4314 §3: SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS; every argument an astring. */
import type { Cursor } from './cursor.js';
import type { ImapCommandBody } from './types.js';

function arg(c: Cursor, what: string): string {
  c.sp(what);
  return c.astring(what);
}

export function parseSetAcl(c: Cursor): ImapCommandBody {
  const mailbox = arg(c, 'mailbox name');
  const identifier = arg(c, 'identifier');
  return { name: 'SETACL', mailbox, identifier, rights: arg(c, 'rights') };
}

export function parseDeleteAcl(c: Cursor): ImapCommandBody {
  const mailbox = arg(c, 'mailbox name');
  return { name: 'DELETEACL', mailbox, identifier: arg(c, 'identifier') };
}

export function parseGetAcl(c: Cursor): ImapCommandBody {
  return { name: 'GETACL', mailbox: arg(c, 'mailbox name') };
}

export function parseListRights(c: Cursor): ImapCommandBody {
  const mailbox = arg(c, 'mailbox name');
  return { name: 'LISTRIGHTS', mailbox, identifier: arg(c, 'identifier') };
}

export function parseMyRights(c: Cursor): ImapCommandBody {
  return { name: 'MYRIGHTS', mailbox: arg(c, 'mailbox name') };
}
