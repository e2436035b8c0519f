/** Public surface of the IMAP wire codec. */
export { CommandReader, type ReaderEvent, type ReaderOptions } from './reader.js';
export { encodeResponse, encodeResponseParts, encodeResponses, encodeValue, atomList } from './encoder.js';
export { encodeMailboxName, decodeMailboxName, MalformedMailboxName } from './mutf7.js';
export { formatDateTime, parseDateTime, parseDate } from './datetime.js';
export type * from './types.js';
