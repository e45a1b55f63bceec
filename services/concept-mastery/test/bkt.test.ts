// Bayesian Knowledge Tracing end to end, both services as real processes: simulated learners with
// known parameters go into the Logger through `npm run simulate`'s script, a fit through the API
// recovers the parameters, and every student's BKT record equals an independent computation with
// them, in real time, after a back-dated answer, and after a recompute.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../../../test-support/http.js';
import { runNodeScript } from '../../../test-support/node-script.js';
import { caughtUp, eventually, metric, metricReaches, quiz, startStack, type Stack } from './support.js';

const simulateScript = join(resolve(fileURLToPath(import.meta.url), '../..'), 'dist/src/simulate-cli.js');

interface Params {
  concept_id: string;
  p_init: number;
  p_learn: number;
  p_guess: number;
  p_slip: number;
  p_forget: number;
  fitted: boolean;
  students: number;
  observations: number;
}

/** BKT written out again here, independently of the service's code: P(L) after each answer. */
function knownAfter(p: Params, answers: boolean[]): number {
  let known = p.p_init;
  for (const correct of answers) {
    const ifKnown = known * (correct ? 1 - p.p_slip : p.p_slip);
    const ifUnknown = (1 - known) * (correct ? p.p_guess : 1 - p.p_guess);
    const posterior = ifKnown / (ifKnown + ifUnknown);
    known = posterior * (1 - p.p_forget) + (1 - posterior) * p.p_learn;
  }
  return known;
}

let stack: Stack;
let truth: Array<{ concept_id: string; p_init: number; p_learn: number; p_guess: number; p_slip: number }>;
let fitted: Map<string, Params>;
let version: number;
let fitId: string;
let evaluation: Array<{ concept_id: string; bkt: { auc: number; log_loss: number }; pass_ratio: { auc: number; log_loss: number } }>;

beforeAll(async () => {
  stack = await startStack({ brainEnv: { BKT_MIN_STUDENTS: '20' } });
  const simulated = await runNodeScript(simulateScript, [
    '--url',
    stack.logger.url,
    '--students',
    '500',
    '--concepts',
    '3',
    '--attempts',
    '20',
    '--seed',
    '1',
  ]);
  expect(simulated.code).toBe(0);
  const printed = JSON.parse(simulated.stdout) as { posted: number; truth: typeof truth };
  expect(printed.posted).toBe(30_000);
  truth = printed.truth;
  // A concept with too few students to fit.
  for (let s = 0; s < 3; s += 1) {
    const res = await request(`${stack.logger.url}/events`, { json: quiz(`rare-${s}`, 'rare-concept', { correct: s !== 1 }) });
    expect(res.status).toBe(201);
  }
  const head = (await request(`${stack.logger.url}/feed?limit=1`)).body.head_seq as number;
  await caughtUp(stack.brain.url, head);
}, 120_000);
afterAll(() => stack.stop());

test('one fit at a time: it answers 202 with a fit id, a second meanwhile 409; it ends succeeded with its progress', async () => {
  const [a, b] = await Promise.all([
    request(`${stack.brain.url}/models/bkt/fit`, { method: 'POST' }),
    request(`${stack.brain.url}/models/bkt/fit`, { method: 'POST' }),
  ]);
  const statuses = [a.status, b.status].sort();
  expect(statuses).toEqual([202, 409]);
  const started = a.status === 202 ? a : b;
  expect(started.body).toEqual({ fit_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'running' });
  expect((a.status === 409 ? a : b).body.error.code).toBe('conflict');

  let fit: any;
  await eventually(
    () => `fit ${started.body.fit_id} to end (last seen: ${JSON.stringify(fit)})`,
    async () => {
      fit = (await request(`${stack.brain.url}/models/bkt/fits/${started.body.fit_id}`)).body;
      return fit.status !== 'running';
    },
    { pollMs: 50, timeoutMs: 60_000 },
  );
  expect(fit).toMatchObject({
    status: 'succeeded',
    version: 1,
    progress: { phase: 'done', events_read: 30_003, answers: 30_003, concepts_total: 4 },
  });
  version = fit.version;
  fitId = fit.fit_id;
  evaluation = fit.evaluation;
  fitted = new Map((fit.concepts as Params[]).map((c) => [c.concept_id, c]));
  // Counted once the fit's row is stored, a moment after the fit reads as succeeded.
  await metricReaches(stack.brain.url, 'bkt_fits_total{status="succeeded"}', '===', 1, { timeoutMs: 5000 });
});

test('the fit recovers the generating parameters, and BKT predicts held-out students better than the pass ratio', () => {
  for (const t of truth) {
    const p = fitted.get(t.concept_id)!;
    expect(p).toMatchObject({ fitted: true, students: 500, observations: 10_000, p_forget: 0 });
    expect(Math.abs(p.p_init - t.p_init)).toBeLessThan(0.08);
    expect(Math.abs(p.p_learn - t.p_learn)).toBeLessThan(0.05);
    expect(Math.abs(p.p_guess - t.p_guess)).toBeLessThan(0.05);
    expect(Math.abs(p.p_slip - t.p_slip)).toBeLessThan(0.03);
    expect(p.p_guess).toBeLessThan(1 - p.p_slip);
  }
  expect(fitted.get('rare-concept')).toMatchObject({ fitted: false, students: 3, p_init: 0.3, p_learn: 0.1, p_guess: 0.2, p_slip: 0.1 });
  expect(evaluation.map((e) => e.concept_id)).toEqual(['concept-0', 'concept-1', 'concept-2']); // fitted concepts only
  for (const e of evaluation) {
    expect(e.bkt.auc).toBeGreaterThan(e.pass_ratio.auc);
    expect(e.bkt.log_loss).toBeLessThan(e.pass_ratio.log_loss);
  }
});

test('GET /models/bkt serves the parameters in force; the fit view keeps the evaluation table', async () => {
  const active = await request(`${stack.brain.url}/models/bkt`);
  expect(active.status).toBe(200);
  expect(active.body).toMatchObject({ version, fitted_at: expect.stringMatching(/Z$/) });
  expect(new Map((active.body.concepts as Params[]).map((c) => [c.concept_id, c]))).toEqual(fitted);
  const done = await request(`${stack.brain.url}/models/bkt/fits/${fitId}`);
  expect(done.body).toMatchObject({ status: 'succeeded', version, evaluation, finished_at: expect.stringMatching(/Z$/) });
  const unknown = await request(`${stack.brain.url}/models/bkt/fits/${randomUUID()}`);
  expect(unknown.status).toBe(404);
  expect((await request(`${stack.brain.url}/models/bkt/fits/not-a-uuid`)).status).toBe(400);
});

test("every student's BKT record, once derived again with the fit, equals BKT computed independently from their answers", async () => {
  await metricReaches(stack.brain.url, 'bkt_params_version', '===', version, { timeoutMs: 30_000 });
  await metricReaches(stack.brain.url, 'bkt_rederive_pending_records', '===', 0, { timeoutMs: 30_000 });
  for (const s of [0, 7, 499]) {
    const student = `sim-1-student-${s}`;
    const timeline = (await request<any[]>(`${stack.logger.url}/events/${student}`)).body;
    const records = (await request<any[]>(`${stack.brain.url}/mastery/${student}?model=bkt`)).body;
    expect(records.map((r) => r.concept_id)).toEqual(['concept-0', 'concept-1', 'concept-2']);
    for (const record of records) {
      const answers = timeline.filter((e) => e.concept_id === record.concept_id).map((e) => e.event_details.correct as boolean);
      const p = fitted.get(record.concept_id)!;
      const known = knownAfter(p, answers);
      expect(record).toMatchObject({
        user_id: student,
        model: 'bkt',
        params_version: version,
        total_attempts: 20,
        successful_attempts: answers.filter(Boolean).length,
        mastered: known >= 0.95,
      });
      expect(record.p_known).toBeCloseTo(known, 12);
      expect(record.mastery_score).toBeCloseTo(known * 100, 10);
      expect(record.p_correct_next).toBeCloseTo(known * (1 - p.p_slip) + (1 - known) * p.p_guess, 12);
    }
    // Without ?model the default model answers, the pass ratio.
    const defaults = (await request<any[]>(`${stack.brain.url}/mastery/${student}`)).body;
    expect(defaults.map((r) => r.model)).toEqual(['pass_ratio', 'pass_ratio', 'pass_ratio']);
  }
});

test('real time equals the fold: a new answer, then a back-dated one, each leave the record equal to BKT over the timeline', async () => {
  const student = 'sim-1-student-42';
  const p = fitted.get('concept-0')!;
  const expectRecord = async () => {
    const timeline = (await request<any[]>(`${stack.logger.url}/events/${student}/concept-0`)).body;
    const answers = timeline.map((e) => e.event_details.correct as boolean);
    const record = (await request(`${stack.brain.url}/mastery/${student}/concept-0?model=bkt`)).body;
    expect(record.total_attempts).toBe(answers.length);
    expect(record.p_known).toBeCloseTo(knownAfter(p, answers), 12);
  };
  const later = await request(`${stack.logger.url}/events`, {
    json: quiz(student, 'concept-0', { correct: false }, { timestamp: '2026-06-01T00:00:00.000Z' }),
  });
  await caughtUp(stack.brain.url, later.body.seq);
  await expectRecord();

  const refoldsBefore = await metric(stack.brain.url, 'mastery_feed_refolds_total');
  const backDated = await request(`${stack.logger.url}/events`, {
    json: quiz(student, 'concept-0', { correct: false }, { timestamp: '2025-01-01T00:00:00.000Z' }),
  });
  await caughtUp(stack.brain.url, backDated.body.seq);
  await expectRecord();
  expect(await metric(stack.brain.url, 'mastery_feed_refolds_total')).toBe(refoldsBefore + 1);

  const recompute = await request(`${stack.brain.url}/mastery/recompute/${student}`, { method: 'POST' });
  expect(recompute.body).toMatchObject({ events_processed: 62, records_written: { pass_ratio: 0, bkt: 0 } });
  await expectRecord();
});

test('erasure and DELETE /mastery cover the BKT records too', async () => {
  const student = 'sim-1-student-43';
  expect((await request<any[]>(`${stack.brain.url}/mastery/${student}?model=bkt`)).body).toHaveLength(3);
  const res = await request(`${stack.brain.url}/mastery/${student}`, { method: 'DELETE' });
  expect(res.body).toEqual({ user_id: student, records_deleted: 6 });
  expect((await request<any[]>(`${stack.brain.url}/mastery/${student}?model=bkt`)).body).toEqual([]);
});

test('the OpenAPI document has the BKT routes with their scopes, and a record schema per model', async () => {
  const doc = (await request(`${stack.brain.url}/openapi.json`)).body;
  expect(doc.paths['/models/bkt/fit'].post.security).toEqual([{ bearerAuth: ['admin'] }, { basicAuth: ['admin'] }]);
  expect(doc.paths['/models/bkt'].get.security).toEqual([{ bearerAuth: ['mastery:read'] }, { basicAuth: ['mastery:read'] }]);
  expect(doc.paths['/models/bkt/fits/{fit_id}'].get.responses['200'].content['application/json'].schema).toEqual({
    $ref: '#/components/schemas/BktFit',
  });
  expect(doc.components.schemas.MasteryRecord_bkt.required).toEqual(
    expect.arrayContaining(['p_known', 'p_correct_next', 'mastered', 'params_version', 'total_attempts', 'successful_attempts']),
  );
  const modelParameter = doc.paths['/mastery/{user_id}'].get.parameters.find((p: { name: string }) => p.name === 'model');
  expect(modelParameter.schema).toMatchObject({ enum: ['pass_ratio', 'bkt'], default: 'pass_ratio' });
});
