/** Core/echo (RFC 8620 §4): the arguments back, for testing a connection. */
import type { MethodSpec } from './api.js';
import { CORE } from './capabilities.js';

export const coreMethods: Record<string, MethodSpec> = {
  'Core/echo': { capability: CORE, run: async (args) => args },
};
