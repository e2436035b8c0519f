/** The POP3 session's public surface. */
export { createPop3Session, type Pop3Context } from './session.js';
export { isLoopback } from './policy.js';
