/** Argument checks shared by the JMAP methods (RFC 8620 §5): each failure is invalidArguments. */
import type { JmapArgs, JmapContext } from './api.js';
import { CORE_LIMITS } from './capabilities.js';
import { MethodError } from './errors.js';
import { isJmapId } from './ids.js';

/** The call's accountId must be the signed-in account's: there is no sharing (accountNotFound otherwise). */
export function requireAccount(args: JmapArgs, ctx: JmapContext): void {
  if (args.accountId !== ctx.accountId) throw new MethodError('accountNotFound');
}

/** `ids` of a /get: null (all) or a bounded list of ids ("#creationId" resolved). */
export function idsArg(args: JmapArgs, ctx: JmapContext, key = 'ids'): string[] | null {
  const ids = args[key];
  if (ids === null || ids === undefined) return null;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new MethodError('invalidArguments', `${key} must be a list of ids`);
  if (ids.length > CORE_LIMITS.maxObjectsInGet) throw new MethodError('requestTooLarge', `At most ${CORE_LIMITS.maxObjectsInGet} ids`);
  return ids.map((id: string) => resolveId(id, ctx));
}

/** "#creationId" (RFC 8620 §5.3) names an object created earlier in the same request. */
export function resolveId(id: string, ctx: JmapContext): string {
  return id.startsWith('#') ? (ctx.createdIds.get(id.slice(1)) ?? id) : id;
}

/** `properties`: null (all) or a list of known property names; `id` is always returned. */
export function propertiesArg(args: JmapArgs, known: readonly string[], defaults: readonly string[] = known, key = 'properties'): Set<string> {
  const properties = args[key];
  if (properties === null || properties === undefined) return new Set([...defaults, 'id']);
  if (!Array.isArray(properties) || !properties.every((p) => typeof p === 'string' && known.includes(p))) {
    throw new MethodError('invalidArguments', `${key} must be a list of known property names`);
  }
  return new Set([...(properties as string[]), 'id']);
}

export function pick(object: Record<string, unknown>, properties: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of properties) if (p in object) out[p] = object[p];
  return out;
}

/** A non-negative integer argument with a default (position, limit, maxChanges). */
export function unsignedArg(args: JmapArgs, key: string, fallback: number | null): number | null {
  const v = args[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new MethodError('invalidArguments', `${key} must be an unsigned integer`);
  return v;
}

export function integerArg(args: JmapArgs, key: string, fallback: number): number {
  const v = args[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new MethodError('invalidArguments', `${key} must be an integer`);
  return v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The create/update/destroy maps of a /set, bounded by maxObjectsInSet together. */
export function setArgs(args: JmapArgs): {
  create: Record<string, Record<string, unknown>>;
  update: Record<string, Record<string, unknown>>;
  destroy: string[];
} {
  const create = args.create ?? {};
  const update = args.update ?? {};
  const destroy = args.destroy ?? [];
  if (!isPlainObject(create) || !Object.values(create).every(isPlainObject)) throw new MethodError('invalidArguments', 'create must map ids to objects');
  if (!isPlainObject(update) || !Object.values(update).every(isPlainObject)) throw new MethodError('invalidArguments', 'update must map ids to patches');
  if (!Array.isArray(destroy) || !destroy.every((d) => typeof d === 'string')) throw new MethodError('invalidArguments', 'destroy must be a list of ids');
  if (Object.keys(create).length + Object.keys(update).length + destroy.length > CORE_LIMITS.maxObjectsInSet) {
    throw new MethodError('requestTooLarge', `At most ${CORE_LIMITS.maxObjectsInSet} objects per /set`);
  }
  if (!Object.keys(create).every(isJmapId)) throw new MethodError('invalidArguments', 'creation ids must be ids');
  return {
    create: create as Record<string, Record<string, unknown>>,
    update: update as Record<string, Record<string, unknown>>,
    destroy: destroy as string[],
  };
}

/**
 * A /set-shaped response (RFC 8620 §5.3, RFC 8621 §4.8): the maps and lists
 * given, each null when empty, as the RFC writes "null if none".
 */
export function setResponse(
  ctx: JmapContext,
  oldState: string,
  newState: string,
  results: Record<string, Record<string, unknown> | string[]>,
): JmapArgs {
  const out: JmapArgs = { accountId: ctx.accountId, oldState, newState };
  for (const [key, value] of Object.entries(results)) {
    out[key] = (Array.isArray(value) ? value.length : Object.keys(value).length) > 0 ? value : null;
  }
  return out;
}
