/** CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342). */
import { HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import { ENABLEABLE } from '../capabilities.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { ok } from '../state.js';

export async function capabilityCommand(_cmd: CommandOf<'CAPABILITY'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send({ type: 'capability', capabilities: ctx.capabilities() });
  return ok('CAPABILITY completed');
}

/** Changes to the selected mailbox are reported by the session after every command. */
export async function noopCommand(): Promise<Completion> {
  return ok('NOOP completed');
}

export async function logoutCommand(_cmd: CommandOf<'LOGOUT'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send({ type: 'status', tag: '*', status: 'BYE', text: 'Logging out' });
  ctx.setState({ kind: 'logout' });
  return ok('LOGOUT completed');
}

export async function idCommand(_cmd: CommandOf<'ID'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send({ type: 'id', params: [['name', 'Mailstead']] });
  return ok('ID completed');
}

export async function enableCommand(cmd: CommandOf<'ENABLE'>, ctx: CommandContext): Promise<Completion> {
  const newly: string[] = [];
  for (const requested of cmd.capabilities) {
    const known = ENABLEABLE.find((c) => c.toUpperCase() === requested.toUpperCase());
    // RFC 5161 §3.1: unknown extensions are ignored; ENABLED lists only those newly enabled.
    if (!known || ctx.enabled.has(known.toUpperCase())) continue;
    ctx.enabled.add(known.toUpperCase());
    newly.push(known);
  }
  await ctx.send({ type: 'enabled', capabilities: newly });
  return ok('ENABLE completed');
}

export async function namespaceCommand(_cmd: CommandOf<'NAMESPACE'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send({ type: 'namespace', personal: [['', HIERARCHY_SEPARATOR]], other: null, shared: null });
  return ok('NAMESPACE completed');
}
