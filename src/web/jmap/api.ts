/**
 * The JMAP API request (RFC 8620 §3): the envelope is checked, each method
 * call runs in order with its result references resolved (§3.7), and errors
 * become method-level error responses (§3.6.2); only a malformed request as a
 * whole is answered with a problem document (§3.6.1).
 */
import type { MailDomain } from '../../domain/mail-domain.js';
import { commandStarted } from '../../observability/metrics.js';
import type { Account } from '../../store/types.js';
import { CAPABILITIES, CORE_LIMITS, type JmapCapability } from './capabilities.js';
import { MethodError } from './errors.js';

export type JmapArgs = Record<string, unknown>;

export interface JmapContext {
  domain: MailDomain;
  account: Account;
  /** The JMAP id of the account (ids.ts). */
  accountId: string;
  /** Creation id → server id, for "#creationId" references within one request (RFC 8620 §5.3). */
  createdIds: Map<string, string>;
  /** The session state, for the response. */
  sessionState: string;
}

export interface MethodSpec {
  capability: JmapCapability;
  run(args: JmapArgs, ctx: JmapContext): Promise<JmapArgs>;
}

export type Invocation = [string, JmapArgs, string];

/** A request-level failure (RFC 8620 §3.6.1): a problem document with this type. */
export class RequestProblem extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the request object's shape; throws RequestProblem. */
export function parseRequest(body: unknown): { using: string[]; methodCalls: Invocation[]; createdIds: Record<string, string> | null } {
  if (!isObject(body) || !Array.isArray(body.using) || !Array.isArray(body.methodCalls)) {
    throw new RequestProblem('urn:ietf:params:jmap:error:notRequest', 400, 'The request is not a JMAP Request object');
  }
  if (!body.using.every((u) => typeof u === 'string')) {
    throw new RequestProblem('urn:ietf:params:jmap:error:notRequest', 400, '"using" must be a list of capability names');
  }
  for (const capability of body.using as string[]) {
    if (!(CAPABILITIES as readonly string[]).includes(capability)) {
      throw new RequestProblem('urn:ietf:params:jmap:error:unknownCapability', 400, `Unknown capability: ${capability.slice(0, 200)}`);
    }
  }
  if (body.methodCalls.length > CORE_LIMITS.maxCallsInRequest) {
    throw new RequestProblem('urn:ietf:params:jmap:error:limit', 400, 'Too many method calls', { limit: 'maxCallsInRequest' });
  }
  const calls = body.methodCalls as unknown[];
  if (!calls.every((c) => Array.isArray(c) && c.length === 3 && typeof c[0] === 'string' && isObject(c[1]) && typeof c[2] === 'string')) {
    throw new RequestProblem('urn:ietf:params:jmap:error:notRequest', 400, 'Each method call is [name, arguments, callId]');
  }
  let createdIds: Record<string, string> | null = null;
  if (body.createdIds !== undefined) {
    if (!isObject(body.createdIds) || !Object.values(body.createdIds).every((v) => typeof v === 'string')) {
      throw new RequestProblem('urn:ietf:params:jmap:error:notRequest', 400, '"createdIds" must map creation ids to ids');
    }
    createdIds = body.createdIds as Record<string, string>;
  }
  return { using: body.using as string[], methodCalls: calls as Invocation[], createdIds };
}

/** Runs the calls in order; a failing call gives an error response and the next call still runs (§3.6.2). */
export async function runMethodCalls(
  methods: ReadonlyMap<string, MethodSpec>,
  using: readonly string[],
  calls: Invocation[],
  ctx: JmapContext,
  onError: (err: unknown, method: string) => void,
): Promise<Invocation[]> {
  const responses: Invocation[] = [];
  for (const [name, rawArgs, callId] of calls) {
    const spec = methods.get(name);
    // The label is the method name only when it is one of ours, so the metric's series stay bounded.
    const done = commandStarted('http', spec ? name : 'unknown');
    try {
      if (!spec || !using.includes(spec.capability)) throw new MethodError('unknownMethod', `Unknown method: ${name.slice(0, 100)}`);
      const args = resolveReferences(rawArgs, responses);
      responses.push([name, await spec.run(args, ctx), callId]);
    } catch (err) {
      if (!(err instanceof MethodError)) onError(err, name);
      const error = err instanceof MethodError ? err.toJson() : { type: 'serverFail' };
      responses.push(['error', error, callId]);
    } finally {
      done();
    }
  }
  return responses;
}

/**
 * RFC 8620 §3.7: an argument "#name" is { resultOf, name, path } and takes the
 * value at `path` in the response to call `resultOf`, which must be `name`.
 */
function resolveReferences(args: JmapArgs, responses: Invocation[]): JmapArgs {
  const out: JmapArgs = {};
  for (const [key, value] of Object.entries(args)) {
    if (!key.startsWith('#')) {
      out[key] = value;
      continue;
    }
    const plain = key.slice(1);
    if (plain in args) throw new MethodError('invalidArguments', `Both ${plain} and #${plain} were given`);
    if (!isObject(value) || typeof value.resultOf !== 'string' || typeof value.name !== 'string' || typeof value.path !== 'string') {
      throw new MethodError('invalidResultReference', `#${plain} is not a ResultReference`);
    }
    const source = responses.find((r) => r[2] === value.resultOf && r[0] === value.name);
    if (!source) throw new MethodError('invalidResultReference', `No ${value.name} response for call ${value.resultOf}`);
    out[plain] = evaluatePointer(source[1], value.path);
  }
  return out;
}

/** A JSON Pointer (RFC 6901) with JMAP's "*" (§3.7): map over an array, flattening arrays of results. */
export function evaluatePointer(root: unknown, path: string): unknown {
  if (path === '') return root;
  if (!path.startsWith('/')) throw new MethodError('invalidResultReference', 'The path must start with /');
  const tokens = path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  const walk = (value: unknown, i: number): unknown => {
    if (i === tokens.length) return value;
    const token = tokens[i]!;
    if (Array.isArray(value)) {
      if (token === '*') {
        return value.flatMap((item) => {
          const r = walk(item, i + 1);
          return Array.isArray(r) ? r : [r];
        });
      }
      if (!/^(0|[1-9]\d*)$/.test(token) || Number(token) >= value.length) throw new MethodError('invalidResultReference', `No item ${token}`);
      return walk(value[Number(token)], i + 1);
    }
    if (isObject(value) && Object.hasOwn(value, token)) return walk(value[token], i + 1);
    throw new MethodError('invalidResultReference', `The path ${path.slice(0, 200)} is not in the result`);
  };
  return walk(root, 0);
}
