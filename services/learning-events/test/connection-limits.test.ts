// What one client may hold: a request whose body never finishes, headers that never end, and
// more connections than the process takes. Raw sockets, so the client can misbehave on purpose.
import { connect, type Socket } from 'node:net';
import { request } from '../../../test-support/http.js';
import { startLogger, storedCount, type LoggerUnderTest } from './support.js';

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger({ REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '1000', MAX_CONNECTIONS: '8' });
});
afterAll(() => logger.stop());

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: logger.service.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection, and how long that took. */
function untilClosed(socket: Socket): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined); // a reset is a close too
  return new Promise((resolve) => socket.once('close', () => resolve({ text, ms: Date.now() - started })));
}

test('a body that never finishes is answered 408 and closed after REQUEST_TIMEOUT_MS; nothing is stored', async () => {
  const before = await storedCount(logger.url);
  const socket = await open();
  const closed = untilClosed(socket);
  socket.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user_id":');
  // Keep dripping a byte now and then, as a slow client would, until the server gives up.
  const drip = setInterval(() => socket.writable && socket.write(' '), 300);
  const { text, ms } = await closed;
  clearInterval(drip);
  expect(text).toMatch(/^HTTP\/1\.1 408 /);
  expect(ms).toBeGreaterThanOrEqual(1500);
  expect(await storedCount(logger.url)).toBe(before);
});

test('headers that never end are answered 408 and closed after HEADERS_TIMEOUT_MS', async () => {
  const socket = await open();
  const closed = untilClosed(socket);
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
  const { text, ms } = await closed;
  clearInterval(drip);
  expect(text).toMatch(/^HTTP\/1\.1 408 /);
  expect(ms).toBeGreaterThanOrEqual(800);
});

test('connections past MAX_CONNECTIONS are closed at once; the ones held keep working', async () => {
  const held = await Promise.all(Array.from({ length: 8 }, () => open()));
  // Let the server count them before the next one arrives.
  await new Promise((r) => setTimeout(r, 200));
  const extra = await open();
  const { text } = await untilClosed(extra);
  expect(text).toBe('');
  const first = held[0]!;
  const answer = untilClosed(first);
  first.end('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect((await answer).text).toMatch(/^HTTP\/1\.1 200 /);
  for (const socket of held) socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  expect((await request(`${logger.url}/health`)).status).toBe(200);
});
