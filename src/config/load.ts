/**
 * Configuration precedence: command-line flags override the file, which
 * overrides the defaults. Validation errors name the offending key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { configSchema, type MailsteadConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads a JSON (.json) or TOML (anything else, e.g. .toml) file into a plain object. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const value = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('the top level must be a table/object');
    }
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${file}: ${(err as Error).message}`);
  }
}

/** Deep-merges `override` into `base` (objects merge, everything else replaces). */
export function mergeConfig(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const current = out[key];
    if (isPlainObject(current) && isPlainObject(value)) out[key] = mergeConfig(current, value);
    else out[key] = value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a raw config object; errors read like `config: listeners.imaps: expected "host:port" ...`. */
export function validateConfig(raw: Record<string, unknown>, source = 'config'): MailsteadConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(formatIssues(result.error, source));
}

function formatIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
        return `${source}: unknown key ${issue.keys.map((k) => `"${prefix}${k}"`).join(', ')}`;
      }
      const key = issue.path.join('.') || '(top level)';
      return `${source}: ${key}: ${issue.message}`;
    })
    .join('\n');
}

export function loadConfig(file: string | undefined, overrides: Record<string, unknown>): MailsteadConfig {
  const fromFile = file ? readConfigFile(file) : {};
  const source = file ?? 'config';
  // Validate the file alone first so its errors name the file, then the merged result.
  if (file) validateConfig(fromFile, file);
  return validateConfig(mergeConfig(fromFile, overrides), source);
}
