/** CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161), NAMESPACE (RFC 2342). */
import { readFileSync } from 'node:fs';
import { HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import { SHARED_NAMESPACE_PREFIX } from '../../domain/shared-namespace.js';
import { ENABLEABLE } from '../capabilities.js';
import { enableCondstore } from '../condstore.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, ok } from '../state.js';

/** The release, from package.json (two levels up from both src/imap/commands and dist/imap/commands). */
const VERSION: string = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return 'unknown';
  }
})();

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

/**
 * RFC 2971 §3.3: at most 30 pairs, field names up to 30 octets, values up to
 * 1024. What the client says is logged (it helps support); the server
 * answers with its own name, version, vendor and where to get help.
 */
export async function idCommand(cmd: CommandOf<'ID'>, ctx: CommandContext): Promise<Completion> {
  const params = cmd.params ?? [];
  if (params.length > 30 || params.some(([f, v]) => Buffer.byteLength(f) > 30 || (v !== null && Buffer.byteLength(v) > 1024))) {
    return bad('ID allows at most 30 fields of 30 octets with values of 1024 octets');
  }
  if (params.length > 0) ctx.log.info({ clientId: Object.fromEntries(params) }, 'imap client id');
  await ctx.send({
    type: 'id',
    params: [
      ['name', 'Mailstead'],
      ['version', VERSION],
      ['vendor', 'Mailstead'],
      ['support-url', `mailto:postmaster@${ctx.imap.hostname}`],
    ],
  });
  return ok('ID completed');
}

export async function enableCommand(cmd: CommandOf<'ENABLE'>, ctx: CommandContext): Promise<Completion> {
  const newly: string[] = [];
  for (const requested of cmd.capabilities) {
    const known = ENABLEABLE.find((c) => c.toUpperCase() === requested.toUpperCase());
    // RFC 5161 §3.1: unknown extensions are ignored; ENABLED lists only those newly enabled.
    if (!known || ctx.enabled.has(known.toUpperCase())) continue;
    // RFC 7162 §3.2.3: enabling QRESYNC also enables CONDSTORE; both are CONDSTORE-enabling (§3.1).
    if (known === 'CONDSTORE' || known === 'QRESYNC') await enableCondstore(ctx);
    ctx.enabled.add(known.toUpperCase());
    newly.push(known);
  }
  await ctx.send({ type: 'enabled', capabilities: newly });
  return ok('ENABLE completed');
}

export async function namespaceCommand(_cmd: CommandOf<'NAMESPACE'>, ctx: CommandContext): Promise<Completion> {
  // RFC 2342 §5: mailboxes other users shared with this one are under "Shared/<owner>/" (domain/shared-namespace.ts).
  await ctx.send({ type: 'namespace', personal: [['', HIERARCHY_SEPARATOR]], other: [[SHARED_NAMESPACE_PREFIX, HIERARCHY_SEPARATOR]], shared: null });
  return ok('NAMESPACE completed');
}
