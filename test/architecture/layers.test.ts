/**
 * The layer rules of docs/architecture.md, checked on the source text so that
 * a shortcut fails here rather than in review: sessions (imap/, pop3/, lmtp/)
 * reach storage only through domain/ and write to the session port, never to
 * net/; the port itself and protocol/ import nothing internal.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const SESSIONS = ['imap', 'pop3', 'lmtp', 'web'];

/** Non-test .ts files under src/<folder>, recursively. Test files may inspect storage directly. */
function sources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
    }
  };
  walk(join(SRC, folder));
  return out;
}

/** Every line of the files matching `pattern`, as "path:line: text". */
function offending(files: string[], pattern: RegExp): string[] {
  const out: string[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) out.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  return out;
}

/** Module specifiers of static and dynamic imports and re-exports. */
const IMPORT = /(?:^|\s)(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/;

function importsOf(files: string[], forbidden: (specifier: string, file: string) => boolean): string[] {
  const out: string[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = IMPORT.exec(line);
        const specifier = m?.[1] ?? m?.[2];
        if (specifier && forbidden(specifier, file)) out.push(`${relative(SRC, file)}:${i + 1}: ${specifier}`);
      });
  }
  return out;
}

const sessionFiles = SESSIONS.flatMap(sources);

test('sessions reach storage only through domain/: no .store. access, no MailStore, no backend', () => {
  assert.deepEqual(offending(sessionFiles, /\bstore\s*\??\.(?!js['"])\s*[a-zA-Z]|\bdomain\s*\??\.\s*store\b/), []);
  assert.deepEqual(offending(sessionFiles, /\bMailStore\b/), []);
  assert.deepEqual(importsOf(sessionFiles, (s) => /\/store\/(?!types\.js$)/.test(s)), []);
});

test('sessions write to the session port, never import net/ or cli/', () => {
  assert.deepEqual(importsOf(sessionFiles, (s) => /(^|\/)(net|cli)\//.test(s)), []);
});

test('the session port and protocol/ import nothing internal', () => {
  for (const folder of ['session', 'protocol']) {
    const root = join(SRC, folder) + sep;
    const outside = (s: string, file: string) => s.startsWith('.') && !resolve(dirname(file), s).startsWith(root);
    assert.deepEqual(importsOf(sources(folder), outside), [], folder);
  }
});
