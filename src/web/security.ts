/**
 * Headers on every HTTP response. The JSON API and the probes need nothing
 * from a browser, so the policy forbids everything: no script, no frame, no
 * form, no referrer. (The webmail pages will widen `default-src` to 'self' for
 * their own routes only.)
 */

/** A year, as browsers' preload lists ask (RFC 6797 §6.1.1). */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

const COMMON: Record<string, string> = {
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
};

/** The headers for one listener: HSTS only over TLS (RFC 6797 §7.2: a host must not send it over plain HTTP). */
export function securityHeaders(tls: boolean): Record<string, string> {
  return tls ? { ...COMMON, 'strict-transport-security': `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains` } : { ...COMMON };
}

export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127\./i.test(address);
}
