// The writer thread (or a reader thread) dying for real while events arrive: the test attaches to the Logger's inspector
// and ends the writer thread from inside (process.exit in a worker ends that thread only). The
// service must exit 1 at once, saying why, and every event it acknowledged must be there after a
// restart on the same file.
import { randomUUID } from 'node:crypto';
import { request } from '../../../test-support/http.js';
import { eventually } from '../../../test-support/polling.js';
import { startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { allStoredEvents, quiz, startLogger } from './support.js';

/** Ends the worker thread whose script is `scriptName`, through the process's inspector. */
async function exitWorkerThread(service: ServiceProcess, scriptName: string): Promise<void> {
  const line = service.output.find((l) => l.includes('Debugger listening on ws://'));
  if (!line) throw new Error(`the service printed no inspector address:\n${service.output.join('\n')}`);
  const socket = new WebSocket(/ws:\/\/\S+/.exec(line)![0]);
  await new Promise((opened, failed) => {
    socket.onopen = opened;
    socket.onerror = failed;
  });
  let id = 0;
  const send = (method: string, params: object) => socket.send(JSON.stringify({ id: (id += 1), method, params }));
  const attached = new Promise<string>((found) => {
    socket.onmessage = (message) => {
      const { method, params } = JSON.parse(String(message.data)) as {
        method?: string;
        params?: { sessionId: string; workerInfo: { url: string } };
      };
      if (method === 'NodeWorker.attachedToWorker' && params!.workerInfo.url.endsWith(scriptName)) found(params!.sessionId);
    };
  });
  send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  const sessionId = await attached;
  send('NodeWorker.sendMessageToWorker', {
    sessionId,
    message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: 'process.exit(3)' } }),
  });
  socket.close();
}

test('the writer thread dies under load: the service exits 1 and loses nothing it acknowledged', async () => {
  const logger = await startLogger({ NODE_OPTIONS: '--inspect=127.0.0.1:0' });
  try {
    const acknowledged: string[] = [];
    let stopping = false;
    const writers = Array.from({ length: 8 }, async () => {
      while (!stopping) {
        const eventId = randomUUID();
        const res = await request(`${logger.url}/events`, { json: quiz('student', 'c', { score: 80 }, { event_id: eventId }) }).catch(
          () => undefined,
        );
        if (res?.status === 201) acknowledged.push(eventId);
        else if (res === undefined) return; // the service is gone
      }
    });
    await eventually('200 acknowledged events', () => acknowledged.length >= 200);

    await exitWorkerThread(logger.service, 'writer-thread.js');
    const stillRunning = new Promise((resolve) =>
      setTimeout(() => resolve('still running 10 s after its writer thread ended'), 10_000).unref(),
    );
    expect(await Promise.race([logger.service.exited, stillRunning])).toBe(1);
    stopping = true;
    await Promise.all(writers);
    expect(logger.service.output.some((l) => l.includes('the writer thread failed: no event can be stored'))).toBe(true);

    logger.service = await startService('learning-events', { DATABASE_URL: logger.databaseUrl });
    const stored = new Set((await allStoredEvents(logger.url)).map((event: { event_id: string }) => event.event_id));
    expect(acknowledged.filter((eventId) => !stored.has(eventId))).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
  } finally {
    await logger.stop();
  }
});

test('a reader thread dies: the service exits 1, saying so', async () => {
  const logger = await startLogger({ NODE_OPTIONS: '--inspect=127.0.0.1:0' });
  try {
    expect((await request(`${logger.url}/events`, { json: quiz('student', 'c') })).status).toBe(201);
    await exitWorkerThread(logger.service, 'reader-thread.js');
    const stillRunning = new Promise((resolve) =>
      setTimeout(() => resolve('still running 10 s after a reader thread ended'), 10_000).unref(),
    );
    expect(await Promise.race([logger.service.exited, stillRunning])).toBe(1);
    expect(logger.service.output.some((l) => l.includes('a reader thread failed'))).toBe(true);
  } finally {
    await logger.stop();
  }
});
