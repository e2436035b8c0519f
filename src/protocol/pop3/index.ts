/** The POP3 codec's public surface: pure, no I/O (RFC 1939, RFC 2449, RFC 5034). */
export { Pop3LineReader, type ReadLine, type TooLongLine } from './line-reader.js';
export { parsePop3Command, type Pop3Command, type Pop3CommandName, type Pop3ParseError } from './command.js';
export { encodePop3Response, ok, err, type Pop3Response, type Pop3RespCode } from './response.js';
export { DotStuffer, dotStuff, dotStuffCrlf, wireSize } from './dot-stuff.js';
export { extractTop, TopCutter } from './top.js';
