/**
 * COMPRESS DEFLATE (RFC 4978). The tagged OK goes out uncompressed; from the
 * next byte on both directions are raw DEFLATE, flushed after every response
 * (the socket adapter does that). Only after login, so a stranger cannot make
 * us spend a compressor on an unauthenticated connection.
 */
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no } from '../state.js';

export async function compressCommand(cmd: CommandOf<'COMPRESS'>, ctx: CommandContext): Promise<Completion> {
  if (cmd.algorithm !== 'DEFLATE') return bad(`Unknown compression algorithm ${cmd.algorithm}`);
  // RFC 4978 §3: a second COMPRESS is refused with COMPRESSIONACTIVE.
  if (ctx.compressionActive) return no('DEFLATE is already active', { name: 'COMPRESSIONACTIVE' });
  // Pending EXISTS/EXPUNGE go out before the OK, in clear: a client switches its reader at the OK and
  // treats compressed bytes arriving in the same packet as an error (imapflow does).
  await ctx.syncView(true);
  // The OK is queued on the socket synchronously (send() writes before its first await); switching
  // both directions before awaiting it means no event-loop turn can deliver the client's first
  // compressed bytes to the plaintext reader, and no later response can overtake the clear OK.
  const okQueued = ctx.send({ type: 'status', tag: cmd.tag, status: 'OK', text: 'DEFLATE active' });
  ctx.startCompression();
  await okQueued;
  return { status: 'OK', text: 'DEFLATE active', answered: true };
}
