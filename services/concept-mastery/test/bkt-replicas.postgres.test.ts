// Two Brain replicas on one PostgreSQL database: parameters fitted and put in force on one are put
// in force on the other too, which then computes its records with them.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../../../test-support/http.js';
import { runNodeScript } from '../../../test-support/node-script.js';
import { startService, type ServiceProcess } from '../../../test-support/service-process.js';
import { eventually, metric, metricReaches, startStack, type Stack } from './support.js';

const simulateScript = join(resolve(fileURLToPath(import.meta.url), '../..'), 'dist/src/simulate-cli.js');

let stack: Stack;
let second: ServiceProcess;
beforeAll(async () => {
  stack = await startStack({ brainEnv: { BKT_MIN_STUDENTS: '20' } });
  second = await startService('concept-mastery', stack.brainEnv);
  const simulated = await runNodeScript(simulateScript, [
    '--url',
    stack.logger.url,
    '--students',
    '60',
    '--concepts',
    '2',
    '--attempts',
    '10',
  ]);
  expect(simulated.code).toBe(0);
  const head = (await request(`${stack.logger.url}/feed?limit=1`)).body.head_seq as number;
  // Whichever replica consumes gets there.
  await eventually(
    'a replica to apply the simulated answers',
    async () =>
      Math.max(...(await Promise.all([stack.brain.url, second.url].map((url) => metric(url, 'mastery_feed_cursor_seq'))))) >= head,
    { timeoutMs: 60_000 },
  );
}, 120_000);
afterAll(async () => {
  await second.kill('SIGTERM');
  await stack.stop();
});

test('a fit put in force on one replica is in force on the other within seconds, and its records follow', async () => {
  const started = await request(`${stack.brain.url}/models/bkt/fit`, { method: 'POST' });
  expect(started.status).toBe(202);
  let fit: { status: string; version?: number } = { status: 'running' };
  await eventually(
    () => `the fit to end (last seen: ${JSON.stringify(fit)})`,
    async () => (fit = (await request(`${stack.brain.url}/models/bkt/fits/${started.body.fit_id}`)).body).status !== 'running',
    { timeoutMs: 60_000 },
  );
  expect(fit.status).toBe('succeeded');
  await metricReaches(second.url, 'bkt_params_version', '===', fit.version!, { timeoutMs: 20_000 });
  // Either replica may consume; whichever does applies the new answer with the parameters in force.
  const posted = await request(`${stack.logger.url}/events`, {
    json: { user_id: 'after-fit', event_type: 'quiz_attempt', concept_id: 'concept-0', event_details: { correct: true } },
  });
  expect(posted.status).toBe(201);
  await eventually('the new answer applied with the fitted parameters', async () => {
    const record = (await request(`${second.url}/mastery/after-fit/concept-0?model=bkt`)).body as { params_version?: number };
    return record.params_version === fit.version;
  });
});
