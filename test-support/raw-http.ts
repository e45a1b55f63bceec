// A GET sent with its path exactly as written: fetch and URL normalise `..` and `%2E%2E` away
// before a request leaves, so a test of what a server does with them needs node:http itself.
import { get } from 'node:http';

export function rawGet(baseUrl: string, path: string): Promise<{ status: number; body: any }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    }).on('error', reject);
  });
}
