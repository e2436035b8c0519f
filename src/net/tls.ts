/**
 * TLS material: the operator's certificate, or on first start a self-signed
 * one generated into `<dataDir>/tls/` (with a loud warning: clients will ask
 * the user to trust it). Contexts enforce TLS 1.2 as the minimum (RFC 8996).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import type { Logger } from '../observability/log.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  selfSigned: boolean;
}

export async function loadOrCreateTls(opts: {
  certFile?: string;
  keyFile?: string;
  dataDir: string;
  hostname: string;
  log: Logger;
}): Promise<TlsMaterial> {
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('--tls-cert and --tls-key must be given together');
    return {
      cert: readFileSync(opts.certFile, 'utf8'),
      key: readFileSync(opts.keyFile, 'utf8'),
      certFile: opts.certFile,
      selfSigned: false,
    };
  }
  const dir = join(opts.dataDir, 'tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = [...new Set([opts.hostname, 'localhost'])];
    // Loaded only here: the generator's X.509 stack costs ~15 MB and ~1 s of CPU at every start otherwise.
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: opts.hostname }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 825 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [...names.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }],
        },
      ],
    });
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    writeFileSync(certFile, pems.cert, { mode: 0o644 });
    opts.log.warn({ certFile }, 'generated a SELF-SIGNED TLS certificate: mail clients will warn until you configure a real one (--tls-cert/--tls-key)');
  } else {
    opts.log.warn({ certFile }, 'using the SELF-SIGNED TLS certificate generated on first start; configure a real one with --tls-cert/--tls-key');
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, selfSigned: true };
}

/** What both listener kinds need: server options for implicit TLS, a context for STARTTLS upgrades. */
export interface ServerTls {
  options: TlsOptions;
  context: SecureContext;
}

export function serverTlsOf(material: TlsMaterial, minVersion: 'TLSv1.2' | 'TLSv1.3'): ServerTls {
  // tls.createServer() takes the key material itself (it ignores a `secureContext` option);
  // STARTTLS wraps an existing socket with a ready context.
  const options: TlsOptions = { cert: material.cert, key: material.key, minVersion };
  return { options, context: createSecureContext(options) };
}
