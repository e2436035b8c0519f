/**
 * What this server advertises in the JMAP session resource (RFC 8620 §2,
 * RFC 8621 §1.3) and enforces. Submission is not advertised: Mailstead does
 * not send mail.
 */
export const CORE = 'urn:ietf:params:jmap:core';
export const MAIL = 'urn:ietf:params:jmap:mail';
export const CAPABILITIES = [CORE, MAIL] as const;
export type JmapCapability = (typeof CAPABILITIES)[number];

/** RFC 8620 §2 core limits; maxSizeUpload and maxSizeRequest come from the config. */
export const CORE_LIMITS = {
  maxConcurrentUpload: 4,
  maxConcurrentRequests: 4,
  maxCallsInRequest: 32,
  maxObjectsInGet: 500,
  maxObjectsInSet: 500,
  collationAlgorithms: ['i;ascii-casemap', 'i;unicode-casemap'],
} as const;
