// `npm run simulate -- --url http://127.0.0.1:8000 --students 500 --concepts 3 --attempts 20 --seed 1`:
// learners who learn exactly as BKT says, with known parameters (printed; settable per concept
// with --params concept-0=0.3,0.15,0.2,0.1), posted as quiz_attempt events through the Logger's
// batch API, so a fit can be checked against the truth.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { simulateLearners } from './domain/bkt/simulate.js';
import { sequenceOutcomes } from './domain/bkt/observations.js';
import type { BktParams } from './domain/bkt/params.js';

/** The true parameters of concept i when --params does not set them: the three cases, in turn. */
const PRESETS: BktParams[] = [
  { pInit: 0.3, pLearn: 0.15, pGuess: 0.2, pSlip: 0.1, pForget: 0 },
  { pInit: 0.5, pLearn: 0.05, pGuess: 0.25, pSlip: 0.15, pForget: 0 },
  { pInit: 0.1, pLearn: 0.3, pGuess: 0.3, pSlip: 0.05, pForget: 0 },
];
const BATCH = 1000;

const usage =
  'usage: npm run simulate -- --url <logger url> [--students 500] [--concepts 3] [--attempts 20] [--seed 1]\n' +
  '       [--params <concept>=<p_init>,<p_learn>,<p_guess>,<p_slip>]... [--authorization "Bearer <token or key>"]';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      students: { type: 'string', default: '500' },
      concepts: { type: 'string', default: '3' },
      attempts: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      params: { type: 'string', multiple: true, default: [] },
      authorization: { type: 'string' },
    },
  });
  const [students, concepts, attempts, seed] = [values.students, values.concepts, values.attempts, values.seed].map(Number);
  if (!values.url || ![students, concepts, attempts, seed].every((n) => Number.isInteger(n) && n! >= 0)) {
    console.error(usage);
    return 2;
  }
  const truth = new Map<string, BktParams>();
  for (let i = 0; i < concepts!; i += 1) truth.set(`concept-${i}`, PRESETS[i % PRESETS.length]!);
  for (const setting of values.params) {
    const match = /^([^=]+)=([\d.]+),([\d.]+),([\d.]+),([\d.]+)$/.exec(setting);
    if (!match) {
      console.error(`not <concept>=<p_init>,<p_learn>,<p_guess>,<p_slip>: ${setting}\n${usage}`);
      return 2;
    }
    const [pInit, pLearn, pGuess, pSlip] = match.slice(2).map(Number) as [number, number, number, number];
    truth.set(match[1]!, { pInit, pLearn, pGuess, pSlip, pForget: 0 });
  }
  const headers = { 'content-type': 'application/json', ...(values.authorization ? { authorization: values.authorization } : {}) };
  const start = Date.UTC(2026, 0, 1);
  let events: object[] = [];
  let posted = 0;
  const flush = async () => {
    const res = await fetch(`${values.url!.replace(/\/+$/, '')}/events/batch`, { method: 'POST', headers, body: JSON.stringify(events) });
    if (res.status !== 201 && res.status !== 200) throw new Error(`the Logger answered ${res.status}: ${await res.text()}`);
    posted += events.length;
    events = [];
  };
  let conceptIndex = 0;
  for (const [conceptId, params] of truth) {
    const learners = simulateLearners(params, { students: students!, attempts: attempts!, seed: seed! * 1000 + conceptIndex });
    for (let s = 0; s < students!; s += 1) {
      sequenceOutcomes(learners, s).forEach((correct, attempt) => {
        events.push({
          event_id: randomUUID(),
          user_id: `sim-${seed}-student-${s}`,
          event_type: 'quiz_attempt',
          concept_id: conceptId,
          event_details: { correct: correct === 1 },
          timestamp: new Date(start + (conceptIndex * attempts! + attempt) * 60_000 + s).toISOString(),
        });
      });
      if (events.length >= BATCH) await flush();
    }
    conceptIndex += 1;
  }
  if (events.length > 0) await flush();
  console.log(
    JSON.stringify({
      posted,
      truth: [...truth].map(([concept_id, p]) => ({ concept_id, p_init: p.pInit, p_learn: p.pLearn, p_guess: p.pGuess, p_slip: p.pSlip })),
    }),
  );
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  console.error((err as Error).message);
  return 1;
});
