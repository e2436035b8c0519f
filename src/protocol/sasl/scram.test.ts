import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScramClient } from '../../../test/helpers/scram-client.js';
import { hashPassword, scramCredentials, verifyPassword } from '../../domain/passwords.js';
import { saslPrep } from './saslprep.js';
import { decoyCredentials, deriveScramCredentialsSync, scramServerFinal, scramServerFirst } from './scram.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

describe('SCRAM-SHA-256 server steps', () => {
  it('reproduces the RFC 7677 §3 example exactly', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const creds = deriveScramCredentialsSync('pencil', salt, 4096);
    const first = scramServerFirst(b64('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'), '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', creds);
    assert.ok(!('error' in first));
    assert.equal(
      unb64(first.challenge),
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    assert.equal(first.exchange.username, 'user');
    const final = scramServerFinal(
      first.exchange,
      b64(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
      creds,
    );
    assert.ok(!('error' in final));
    assert.equal(unb64(final.serverFinal), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('refuses a wrong proof, a changed nonce, channel binding and malformed messages', () => {
    const creds = deriveScramCredentialsSync('pencil', Buffer.from('salt-salt-salt16'), 4096);
    const client = new ScramClient('user', 'pencil', 'n,,', 'abc');
    const first = scramServerFirst(client.first(), 'XYZ', creds);
    assert.ok(!('error' in first));
    const wrong = new ScramClient('user', 'pencil!', 'n,,', 'abc').final(first.challenge);
    assert.deepEqual(scramServerFinal(first.exchange, wrong, creds), { error: 'authentication failed' });
    const right = client.final(first.challenge);
    const ok = scramServerFinal(first.exchange, right, creds);
    assert.ok('serverFinal' in ok && client.verifyServer(ok.serverFinal));
    const otherNonce = b64(unb64(right).replace('r=abcXYZ', 'r=abcXYQ'));
    assert.match((scramServerFinal(first.exchange, otherNonce, creds) as { error: string }).error, /nonce/);
    assert.match((scramServerFirst(b64('p=tls-unique,,n=user,r=abc'), 'X', creds) as { error: string }).error, /Channel binding/);
    assert.ok('error' in scramServerFirst(b64('n,,n=us=er,r=abc'), 'X', creds));
    assert.ok('error' in scramServerFirst(b64('n,,m=ext,n=user,r=abc'), 'X', creds));
    assert.ok('error' in scramServerFirst('!!!', 'X', creds));
    assert.ok('error' in scramServerFinal(first.exchange, b64('c=biws,r=abcXYZ'), creds));
  });

  it('decodes =2C and =3D in names and keeps the authzid', () => {
    const creds = decoyCredentials('x', Buffer.alloc(32, 1));
    const first = scramServerFirst(b64('n,a=boss=40x,n=a=2Cb=3Dc,r=n1'), 'n2', creds);
    assert.ok('error' in first); // "=40" is not a valid escape
    const ok = scramServerFirst(b64('n,a=a=2Cb,n=a=2Cb=3Dc,r=n1'), 'n2', creds);
    assert.ok(!('error' in ok));
    assert.equal(ok.exchange.username, 'a,b=c');
    assert.equal(ok.exchange.authzid, 'a,b');
    assert.deepEqual(decoyCredentials('x', Buffer.alloc(32, 1)).salt, creds.salt);
  });

  it('SASLprep maps soft hyphens and non-ASCII spaces, refuses controls', () => {
    assert.equal(saslPrep('I\u00ADX'), 'IX');
    assert.equal(saslPrep('a\u00A0b'), 'a b');
    assert.equal(saslPrep('\u2168'), 'IX');
    assert.equal(saslPrep('a\u0007'), null);
  });
});

describe('stored credentials', () => {
  it('carry scrypt and SCRAM keys; old scrypt-only strings still verify but have no SCRAM keys', async () => {
    const stored = await hashPassword('pencil', undefined, { scram: true, scramIterations: 4096 });
    assert.equal(await verifyPassword('pencil', stored), true);
    assert.equal(await verifyPassword('pencil2', stored), false);
    const creds = scramCredentials(stored);
    assert.ok(creds);
    assert.equal(creds.iterations, 4096);
    assert.deepEqual(creds, deriveScramCredentialsSync('pencil', creds.salt, 4096));
    const legacy = stored.split(' ')[0];
    assert.equal(await verifyPassword('pencil', legacy), true);
    assert.equal(scramCredentials(legacy), null);
  });
});
