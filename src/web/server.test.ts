import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webHarness } from '../../test/helpers/web-app.js';

test('every response carries a strict CSP and the usual security headers; HSTS only over TLS', async () => {
  const https = await webHarness({ tls: true });
  const http = await webHarness({ tls: false });
  try {
    for (const url of ['/healthz', '/no/such/route']) {
      const r = await https.app.inject({ url });
      assert.equal(r.headers['content-security-policy'], "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
      assert.match(String(r.headers['strict-transport-security']), /^max-age=31536000; includeSubDomains$/);
    }
    const plain = await http.app.inject({ url: '/healthz' });
    assert.equal(plain.headers['strict-transport-security'], undefined, 'RFC 6797 §7.2: no HSTS over plain HTTP');
    assert.ok(plain.headers['content-security-policy']);
  } finally {
    await https.close();
    await http.close();
  }
});

test('errors reach the client as a short problem document, never a stack', async () => {
  const h = await webHarness({ tls: true });
  try {
    const missing = await h.app.inject({ url: '/nothing-here' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.deepEqual(missing.json(), { type: 'about:blank', status: 404, detail: 'Not found' });
  } finally {
    await h.close();
  }
});

test('a request body over the limit is refused with 413 before it is parsed', async () => {
  const h = await webHarness({ tls: true, settings: { maxRequestBytes: 2048 } });
  try {
    const r = await h.app.inject({
      method: 'POST',
      url: '/jmap/api',
      headers: { authorization: h.basic, 'content-type': 'application/json' },
      payload: JSON.stringify({ using: [], methodCalls: [], pad: 'x'.repeat(4096) }),
    });
    assert.equal(r.statusCode, 413);
    assert.doesNotMatch(r.body, /at |\/src\//, 'no stack or path');
  } finally {
    await h.close();
  }
});

test('/healthz is 200 while the store answers and 503 once it does not', async () => {
  const h = await webHarness({ tls: true });
  try {
    const up = await h.app.inject({ url: '/healthz' });
    assert.equal(up.statusCode, 200);
    assert.equal(up.body, 'ok\n');
    assert.equal(up.headers['cache-control'], 'no-store');
    await h.domain.store.close(); // as a PostgreSQL that went away: every read fails
    const down = await h.app.inject({ url: '/healthz' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.body, 'unavailable\n');
  } finally {
    await h.close();
  }
});

test('/metrics answers loopback; another address needs the configured bearer token', async () => {
  const open = await webHarness({ tls: true });
  const guarded = await webHarness({ tls: true, settings: { metricsToken: 'scrape-token-0123456789' } });
  try {
    const local = await open.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
    assert.equal(local.statusCode, 200);
    assert.match(String(local.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(local.body, /^# HELP mailstead_connections_open /m);
    assert.equal((await open.app.inject({ url: '/metrics', remoteAddress: '192.0.2.7' })).statusCode, 403, 'no token configured: loopback only');

    const remote = { url: '/metrics', remoteAddress: '192.0.2.7' };
    assert.equal((await guarded.app.inject(remote)).statusCode, 403);
    assert.equal((await guarded.app.inject({ ...remote, headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode, 403);
    const allowed = await guarded.app.inject({ ...remote, headers: { authorization: 'Bearer scrape-token-0123456789' } });
    assert.equal(allowed.statusCode, 200);
    assert.match(allowed.body, /mailstead_logins_total/);
  } finally {
    await open.close();
    await guarded.close();
  }
});
