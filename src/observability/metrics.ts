/**
 * The node's metrics (Prometheus text format over /metrics, prom-client).
 * Protocol layers call these functions, one line each at a session or command
 * boundary, never per message; every label takes values from a fixed set
 * (protocols, command names from the command tables, store method names), so
 * the number of series stays bounded whatever clients send. Each process has
 * its own registry: every node of a PostgreSQL cluster serves its own figures
 * and the scraper sums them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NotifyBus } from '../notify/bus.js';

export type MetricProtocol = 'imap' | 'pop3' | 'lmtp' | 'http';
export type LoginResult = 'ok' | 'failed' | 'refused';
export type DeliveryResult = 'delivered' | 'rejected' | 'failed';

export const registry = new Registry();

/** Command and store latency, from half a millisecond (a cached read) to ten seconds (a large FETCH). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const connectionsOpen = new Gauge({
  name: 'mailstead_connections_open',
  help: 'Open client connections, by protocol',
  labelNames: ['protocol'],
  registers: [registry],
});
const connectionsTotal = new Counter({
  name: 'mailstead_connections_total',
  help: 'Client connections accepted, by protocol',
  labelNames: ['protocol'],
  registers: [registry],
});
const sessionsOpen = new Gauge({
  name: 'mailstead_sessions_open',
  help: 'Authenticated sessions (IMAP, POP3), LMTP transactions and HTTP push streams now open, by protocol',
  labelNames: ['protocol'],
  registers: [registry],
});
const idleSessions = new Gauge({
  name: 'mailstead_imap_idle_sessions',
  help: 'IMAP sessions now in IDLE',
  registers: [registry],
});
const logins = new Counter({
  name: 'mailstead_logins_total',
  help: 'Password logins by protocol and result (ok, failed: wrong credentials, refused: throttled or busy)',
  labelNames: ['protocol', 'result'],
  registers: [registry],
});
const deliveries = new Counter({
  name: 'mailstead_deliveries_total',
  help: 'LMTP deliveries per recipient, by result',
  labelNames: ['result'],
  registers: [registry],
});
const commandSeconds = new Histogram({
  name: 'mailstead_command_duration_seconds',
  help: 'Time from a command read to its completion, by protocol and command (IMAP IDLE is not timed)',
  labelNames: ['protocol', 'command'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const storeSeconds = new Histogram({
  name: 'mailstead_store_operation_duration_seconds',
  help: 'Time of each store call, by operation (the MailStore method)',
  labelNames: ['operation', 'result'],
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
const pushSignals = new Counter({
  name: 'mailstead_push_signals_total',
  help: 'Change signals published on the notify bus (one per committed change to a mailbox or the mailbox list)',
  registers: [registry],
});
const pushDeliveries = new Counter({
  name: 'mailstead_push_deliveries_total',
  help: 'Change signals handed to listening sessions (the fan-out of the signals), by protocol',
  labelNames: ['protocol'],
  registers: [registry],
});

let processMetrics = false;

/** CPU, memory, event-loop lag and file descriptors of this process (once per process). */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry, prefix: 'mailstead_' });
}

/** A function that does its work once, however often it is called (a connection may report its end twice). */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** A client connected; call the returned function when it goes. */
export function connectionOpened(protocol: MetricProtocol): () => void {
  connectionsTotal.inc({ protocol });
  connectionsOpen.inc({ protocol });
  return once(() => connectionsOpen.dec({ protocol }));
}

/** A session began (a login, an LMTP transaction, a push stream); call the returned function when it ends. */
export function sessionStarted(protocol: MetricProtocol): () => void {
  sessionsOpen.inc({ protocol });
  return once(() => sessionsOpen.dec({ protocol }));
}

/** An IMAP session entered IDLE; call the returned function when it leaves. */
export function idleStarted(): () => void {
  idleSessions.inc();
  return once(() => idleSessions.dec());
}

export function loginAttempted(protocol: MetricProtocol, result: LoginResult): void {
  logins.inc({ protocol, result });
}

export function deliveryDone(result: DeliveryResult): void {
  deliveries.inc({ result });
}

/** Starts timing a command; call the returned function when it completes. `command` must come from a fixed table. */
export function commandStarted(protocol: MetricProtocol, command: string): () => void {
  if (protocol === 'imap' && command === 'IDLE') return () => {}; // minutes long by design: not a latency
  return commandSeconds.startTimer({ protocol, command });
}

/** A bus signal reached a session listening for it. */
export function pushDelivered(protocol: MetricProtocol): void {
  pushDeliveries.inc({ protocol });
}

/**
 * The store with every asynchronous method timed by name. The label set is the
 * store's own method names, so bounded. Methods run on the real store object
 * (its private fields stay reachable); anything not a function passes through.
 */
export function timedStore<T extends object>(store: T): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]) => {
          const end = process.hrtime.bigint();
          const result = method.apply(target, args);
          if (!(result instanceof Promise)) return result;
          const observe = (outcome: string) =>
            storeSeconds.observe({ operation: prop, result: outcome }, Number(process.hrtime.bigint() - end) / 1e9);
          result.then(
            () => observe('ok'),
            () => observe('error'),
          );
          return result;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

/** The bus with its publications counted (the fan-out is counted where sessions receive them). */
export function countedBus(bus: NotifyBus): NotifyBus {
  return {
    publish(signal) {
      pushSignals.inc();
      bus.publish(signal);
    },
    subscribe: (accountId, listener) => bus.subscribe(accountId, listener),
    publishMailboxList(signal) {
      pushSignals.inc();
      bus.publishMailboxList(signal);
    },
    subscribeMailboxList: (accountId, listener) => bus.subscribeMailboxList(accountId, listener),
    close: () => bus.close(),
  };
}

/** The Prometheus text exposition of this process's metrics. */
export function exposition(): Promise<string> {
  return registry.metrics();
}

export const expositionContentType = registry.contentType;
