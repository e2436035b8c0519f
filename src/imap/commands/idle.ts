/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13). Changes to the selected mailbox made by
 * other sessions are written as soon as the bus signals them; a keepalive
 * "* OK Still here" keeps NAT mappings open. DONE may already be buffered
 * (clients pipeline IDLE and DONE), which readLine handles.
 */
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, ok } from '../state.js';

export async function idleCommand(_cmd: CommandOf<'IDLE'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send({ type: 'continuation', text: 'idling' });
  await ctx.syncView(true);
  for (;;) {
    const wake = await ctx.waitLineOrSignal(ctx.imap.idleKeepaliveMs);
    switch (wake.type) {
      case 'closed':
        return ok('IDLE terminated');
      case 'signal':
        await ctx.syncView(true);
        break;
      case 'timeout':
        await ctx.send({ type: 'status', tag: '*', status: 'OK', text: 'Still here' });
        break;
      case 'line':
        return wake.line.trim().toUpperCase() === 'DONE' ? ok('IDLE terminated') : bad('Expected DONE');
    }
  }
}
