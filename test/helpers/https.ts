/** A GET over HTTPS to a test server, trusting its generated certificate; a new connection each time. */
import { request as httpsRequest } from 'node:https';
import type { TestServer } from './server.js';

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpsGet(server: TestServer, path: string): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: server.ports.https, path, ca: [server.certPem], servername: 'localhost', agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (t: string) => (body += t));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
