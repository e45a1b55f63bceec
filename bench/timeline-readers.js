// Load for the contention group: clients that each read one full timeline after another, in a
// process of their own, so the bytes they receive cost the load generator nothing. Controlled
// over HTTP: POST /start?target=<url>&clients=N begins, POST /stop ends the reads and answers how
// many timelines were read to the end.
import { createServer } from 'node:http';

let running;

async function readForever(target, state) {
  while (!state.stopped) {
    const res = await fetch(target, { signal: state.abort.signal }).catch(() => undefined);
    if (!res) continue;
    if (res.status !== 200) {
      state.failures += 1;
      await res.body?.cancel();
      continue;
    }
    try {
      for await (const chunk of res.body) void chunk;
      state.completed += 1;
    } catch {
      // aborted by /stop
    }
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/start' && !running) {
    running = { stopped: false, completed: 0, failures: 0, abort: new AbortController() };
    const clients = Number(url.searchParams.get('clients'));
    running.loops = Array.from({ length: clients }, () => readForever(url.searchParams.get('target'), running));
    res.end('{}');
  } else if (url.pathname === '/stop' && running) {
    const state = running;
    running = undefined;
    state.stopped = true;
    state.abort.abort();
    void Promise.all(state.loops).then(() => res.end(JSON.stringify({ completed: state.completed, failures: state.failures })));
  } else {
    res.statusCode = 409;
    res.end();
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
