/**
 * JMAP core over HTTP (RFC 8620), with raw requests as the RFC writes them:
 * the session resource, authentication, the request envelope and its errors,
 * Core/echo and result references.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webHarness, ALICE, type WebHarness } from '../../../test/helpers/web-app.js';

const CORE = 'urn:ietf:params:jmap:core';
const MAIL = 'urn:ietf:params:jmap:mail';

function api(h: WebHarness, body: unknown, authorization = h.basic) {
  return h.app.inject({
    method: 'POST',
    url: '/jmap/api',
    headers: { authorization, 'content-type': 'application/json', host: 'mail.example.com' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('the session resource at /.well-known/jmap names the account, the limits and absolute URLs', async () => {
  const h = await webHarness({ tls: true });
  try {
    const r = await h.app.inject({ url: '/.well-known/jmap', headers: { authorization: h.basic, host: 'mail.example.com:8443' } });
    assert.equal(r.statusCode, 200);
    const s = r.json();
    assert.deepEqual(Object.keys(s.capabilities).sort(), [CORE, MAIL]);
    assert.equal(s.capabilities[CORE].maxSizeRequest, 100_000);
    assert.equal(s.capabilities[CORE].maxSizeUpload, 1_000_000);
    assert.equal(s.username, ALICE);
    const accountId = s.primaryAccounts[MAIL];
    assert.equal(s.accounts[accountId].name, ALICE);
    assert.equal(s.apiUrl, 'https://mail.example.com:8443/jmap/api');
    assert.equal(s.downloadUrl, 'https://mail.example.com:8443/jmap/download/{accountId}/{blobId}/{name}?type={type}');
    assert.equal(typeof s.state, 'string');
    const again = await h.app.inject({ url: '/jmap/session', headers: { authorization: h.basic, host: 'mail.example.com:8443' } });
    assert.deepEqual(again.json(), s);
    const hostile = await h.app.inject({ url: '/jmap/session', headers: { authorization: h.basic, host: 'evil"/><script>' } });
    assert.doesNotMatch(hostile.json().apiUrl, /script/);
  } finally {
    await h.close();
  }
});

test('authentication: Basic with the account password, bearer tokens, and the refusals', async () => {
  const h = await webHarness({ tls: true });
  try {
    const none = await h.app.inject({ url: '/jmap/session' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Mailstead", charset="UTF-8"');
    const wrong = await h.app.inject({ url: '/jmap/session', headers: { authorization: `Basic ${Buffer.from(`${ALICE}:nope`).toString('base64')}` } });
    assert.equal(wrong.statusCode, 401);
    assert.doesNotMatch(wrong.body, /nope/);

    const issued = await h.app.inject({ method: 'POST', url: '/jmap/token', headers: { authorization: h.basic } });
    assert.equal(issued.statusCode, 200);
    assert.equal(issued.headers['cache-control'], 'no-store');
    const { access_token: token, token_type: type } = issued.json();
    assert.equal(type, 'Bearer');
    const withToken = await h.app.inject({ url: '/jmap/session', headers: { authorization: `Bearer ${token}` } });
    assert.equal(withToken.statusCode, 200);
    assert.equal(withToken.json().username, ALICE);

    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
    assert.equal((await h.app.inject({ url: '/jmap/session', headers: { authorization: `Bearer ${tampered}` } })).statusCode, 401);
    // A token is bound to the password: changing it revokes every token of the account.
    await h.domain.setPassword(ALICE, 'a new password');
    assert.equal((await h.app.inject({ url: '/jmap/session', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
  } finally {
    await h.close();
  }
});

test('over plain HTTP credentials are accepted only from loopback, and only when configured', async () => {
  const h = await webHarness({ tls: false });
  const strict = await webHarness({ tls: false, settings: { allowCleartextAuthFromLoopback: false } });
  try {
    const remote = await h.app.inject({ url: '/jmap/session', remoteAddress: '192.0.2.9', headers: { authorization: h.basic } });
    assert.equal(remote.statusCode, 403);
    const local = await h.app.inject({ url: '/jmap/session', remoteAddress: '127.0.0.1', headers: { authorization: h.basic } });
    assert.equal(local.statusCode, 200);
    const off = await strict.app.inject({ url: '/jmap/session', remoteAddress: '127.0.0.1', headers: { authorization: strict.basic } });
    assert.equal(off.statusCode, 403);
  } finally {
    await h.close();
    await strict.close();
  }
});

test('RFC 8620 §4.1: Core/echo returns its arguments', async () => {
  const h = await webHarness({ tls: true });
  try {
    const r = await api(h, { using: [CORE], methodCalls: [['Core/echo', { hello: true, high: 5 }, 'b3ff']] });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.deepEqual(body.methodResponses, [['Core/echo', { hello: true, high: 5 }, 'b3ff']]);
    assert.equal(typeof body.sessionState, 'string');
  } finally {
    await h.close();
  }
});

test('RFC 8620 §3.6: request-level problems and method-level errors', async () => {
  const h = await webHarness({ tls: true });
  try {
    const notJson = await api(h, '{"using": [');
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json().type, 'urn:ietf:params:jmap:error:notJSON');
    const notRequest = await api(h, { using: CORE, methodCalls: [] });
    assert.equal(notRequest.json().type, 'urn:ietf:params:jmap:error:notRequest');
    const unknown = await api(h, { using: [CORE, 'urn:example:nope'], methodCalls: [] });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().type, 'urn:ietf:params:jmap:error:unknownCapability');
    const tooMany = await api(h, { using: [CORE], methodCalls: Array.from({ length: 33 }, (_, i) => ['Core/echo', {}, `c${i}`]) });
    assert.equal(tooMany.json().type, 'urn:ietf:params:jmap:error:limit');
    assert.equal(tooMany.json().limit, 'maxCallsInRequest');

    const r = await api(h, {
      using: [CORE],
      methodCalls: [
        ['Nope/get', {}, 'a'],
        // Mailbox/get without the mail capability in "using" is unknown too (§3.6.2).
        ['Mailbox/get', { accountId: 'A1' }, 'b'],
        ['Core/echo', { after: 'errors' }, 'c'],
      ],
    });
    assert.deepEqual(
      r.json().methodResponses.map((x: unknown[]) => [x[0], (x[1] as { type?: string }).type ?? null, x[2]]),
      [
        ['error', 'unknownMethod', 'a'],
        ['error', 'unknownMethod', 'b'],
        ['Core/echo', null, 'c'],
      ],
    );
  } finally {
    await h.close();
  }
});

test('RFC 8620 §3.7: result references, including "*" over a list', async () => {
  const h = await webHarness({ tls: true });
  try {
    const session = (await h.app.inject({ url: '/jmap/session', headers: { authorization: h.basic } })).json();
    const accountId = session.primaryAccounts[MAIL];
    const r = await api(h, {
      using: [CORE, MAIL],
      methodCalls: [
        ['Mailbox/query', { accountId, filter: { role: 'inbox' } }, 'q'],
        ['Mailbox/get', { accountId, '#ids': { resultOf: 'q', name: 'Mailbox/query', path: '/ids' }, properties: ['name'] }, 'g'],
        ['Core/echo', { '#names': { resultOf: 'g', name: 'Mailbox/get', path: '/list/*/name' } }, 'e'],
        ['Core/echo', { '#x': { resultOf: 'g', name: 'Mailbox/query', path: '/list' } }, 'bad'],
      ],
    });
    const [q, g, e, bad] = r.json().methodResponses;
    assert.equal(q[1].ids.length, 1);
    assert.deepEqual(g[1].list, [{ id: q[1].ids[0], name: 'INBOX' }]);
    assert.deepEqual(e[1], { names: ['INBOX'] });
    assert.deepEqual([bad[0], bad[1].type], ['error', 'invalidResultReference']);
  } finally {
    await h.close();
  }
});
