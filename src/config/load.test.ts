import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';
import { parseListenAddress } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-config-'));

test('defaults: loopback listeners on the standard ports, cleartext auth off', () => {
  const c = loadConfig(undefined, {});
  assert.deepEqual(c.listeners, {
    imap: '127.0.0.1:143',
    imaps: '127.0.0.1:993',
    pop3: '127.0.0.1:110',
    pop3s: '127.0.0.1:995',
    lmtp: '127.0.0.1:24',
    // HTTP is off unless asked for: an upgrade opens no new port.
    http: 'off',
    https: 'off',
  });
  assert.equal(c.tls.allowCleartextAuthFromLoopback, false);
  assert.equal(c.tls.minVersion, 'TLSv1.2');
});

test('flags override the file, which overrides defaults (TOML and JSON)', () => {
  const toml = join(dir, 'a.toml');
  writeFileSync(toml, 'dataDir = "/srv/mail"\n[listeners]\nimap = "off"\npop3 = "0.0.0.0:110"\n[imap]\nidleKeepaliveSeconds = 60\n');
  const c = loadConfig(toml, { listeners: { pop3: '127.0.0.1:1110', imaps: undefined } });
  assert.equal(c.dataDir, '/srv/mail');
  assert.equal(c.listeners.imap, 'off');
  assert.equal(c.listeners.pop3, '127.0.0.1:1110');
  assert.equal(c.listeners.imaps, '127.0.0.1:993');
  assert.equal(c.imap.idleKeepaliveSeconds, 60);
  const json = join(dir, 'b.json');
  writeFileSync(json, JSON.stringify({ tls: { allowCleartextAuthFromLoopback: true } }));
  assert.equal(loadConfig(json, {}).tls.allowCleartextAuthFromLoopback, true);
});

test('errors name the bad key', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ listner: {}, imap: { authenticatedTimeoutSeconds: 10 } }));
  assert.throws(() => loadConfig(bad, {}), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /unknown key "listner"/);
    assert.match(err.message, /imap\.authenticatedTimeoutSeconds/);
    return true;
  });
  const broken = join(dir, 'broken.toml');
  writeFileSync(broken, 'this is = = not toml');
  assert.throws(() => loadConfig(broken, {}), /cannot parse config file/);
  assert.throws(() => loadConfig(join(dir, 'missing.toml'), {}), /cannot read config file .*ENOENT/);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:993'), { host: '127.0.0.1', port: 993 });
  assert.deepEqual(parseListenAddress('[::1]:143'), { host: '::1', port: 143 });
  assert.deepEqual(parseListenAddress('mail.example.com:0'), { host: 'mail.example.com', port: 0 });
  assert.equal(parseListenAddress('127.0.0.1'), null);
  assert.equal(parseListenAddress('127.0.0.1:70000'), null);
});
