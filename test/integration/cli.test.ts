/**
 * The `mailstead` command as an operator uses it: help, accounts, delivery
 * exit codes, config validation, first start.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { addUser, cli, deliver, makeDataDir, makeMessage, startServer } from '../helpers/server.js';

describe('mailstead CLI', () => {
  const dataDir = makeDataDir();

  test('every subcommand has --help', () => {
    for (const args of [[], ['serve'], ['user'], ['user', 'add'], ['user', 'passwd'], ['user', 'del'], ['user', 'list'], ['deliver']]) {
      const r = cli([...args, '--help']);
      assert.equal(r.status, 0, `mailstead ${args.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: mailstead/);
    }
    assert.match(cli(['serve', '--help']).stdout, /--imaps <addr>/);
  });

  test('user add, list, passwd, del', () => {
    addUser(dataDir, 'Alice@Example.com', 'pw-alice-1', '10M');
    const generated = cli(['user', 'add', 'bob@example.com', '--data-dir', dataDir]);
    assert.equal(generated.status, 0, generated.stderr);
    assert.match(generated.stdout, /^password: \S{20}$/m);
    const dup = cli(['user', 'add', 'alice@example.com', '--password-stdin', '--data-dir', dataDir], 'x\n');
    assert.equal(dup.status, 73);
    assert.match(dup.stderr, /already exists/);

    const list = cli(['user', 'list', '--data-dir', dataDir]);
    assert.equal(list.status, 0);
    assert.match(list.stdout, /^alice@example\.com\t0 B\t10\.0 MiB$/m);
    assert.match(list.stdout, /^bob@example\.com\t0 B\tunlimited$/m);

    assert.equal(cli(['user', 'passwd', 'alice@example.com', '--password-stdin', '--data-dir', dataDir], 'new-pw\n').status, 0);
    assert.equal(cli(['user', 'passwd', 'alice@example.com', '--data-dir', dataDir]).status, 64, 'passwd demands --password-stdin');
    assert.equal(cli(['user', 'passwd', 'nobody@example.com', '--password-stdin', '--data-dir', dataDir], 'x\n').status, 67);

    const del = cli(['user', 'del', 'bob@example.com', '--data-dir', dataDir]);
    assert.equal(del.status, 0, del.stderr);
    assert.doesNotMatch(cli(['user', 'list', '--data-dir', dataDir]).stdout, /bob@/);
  });

  test('deliver: 0 delivered, 67 unknown user, 77 over quota, 65 empty', () => {
    const ok = deliver(dataDir, 'alice@example.com', makeMessage({ subject: 'one' }));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /delivered to alice@example\.com as UID 1/);
    assert.equal(deliver(dataDir, 'ghost@example.com', makeMessage({ subject: 'x' })).status, 67);
    assert.equal(deliver(dataDir, 'alice@example.com', '').status, 65);
    addUser(dataDir, 'tiny@example.com', 'pw', '1k');
    const big = deliver(dataDir, 'tiny@example.com', makeMessage({ subject: 'big', body: 'x'.repeat(4000) }));
    assert.equal(big.status, 77, big.stderr);
    assert.match(big.stderr, /over quota/);
  });

  test('a bad config file is refused with the key named', () => {
    const file = join(dataDir, 'bad.toml');
    writeFileSync(file, '[listeners]\nimaps = "nonsense"\n[tls]\nbogus = 1\n');
    const r = cli(['serve', '--config', file]);
    assert.equal(r.status, 78);
    assert.match(r.stderr, /listeners\.imaps/);
    assert.match(r.stderr, /tls\.bogus/);
  });

  after(() => {
    // dataDir is under the OS temp directory; leave nothing behind.
    import('node:fs').then((fs) => fs.rmSync(dataDir, { recursive: true, force: true }));
  });
});

describe('first start', () => {
  test('creates the store, a self-signed certificate with a warning, and one account shown once', async () => {
    const server = await startServer();
    try {
      assert.match(server.initialAccount.password, /^\S{20}$/);
      assert.equal(server.initialAccount.address, 'admin@localhost');
      assert.match(server.stderr(), /SELF-SIGNED/);
      assert.match(server.certPem, /BEGIN CERTIFICATE/);
      assert.doesNotMatch(server.stderr(), new RegExp(server.initialAccount.password), 'password never logged');
    } finally {
      assert.equal(await server.stop(), 0);
    }
    // Second start on the same data directory: no new account, no password printed.
    const again = await startServer({ dataDir: server.dataDir });
    try {
      assert.doesNotMatch(again.stdout(), /created account/);
    } finally {
      assert.equal(await again.stop(), 0);
      again.cleanup();
    }
  });
});
