// Students who learn exactly as BKT says, for tests, benchmarks and checking a fit against a known
// truth: each starts knowing the concept with pInit; each answer is correct with 1 - pSlip if they
// know it, pGuess if not; after each answer they learn with pLearn or forget with pForget.
import type { BktParams } from './params.js';
import type { ConceptObservations } from './observations.js';
import { seededRandom } from './random.js';

export interface SimulationOptions {
  students: number;
  /** Answers per student. */
  attempts: number;
  seed: number;
}

/** The same options give the same answers. Student keys are `student-0`, `student-1`... */
export function simulateLearners(params: BktParams, { students, attempts, seed }: SimulationOptions): ConceptObservations {
  if (!Number.isInteger(students) || students < 0 || !Number.isInteger(attempts) || attempts < 0) {
    throw new RangeError(`simulateLearners: students and attempts must be non-negative integers, not ${students} and ${attempts}`);
  }
  const random = seededRandom(seed);
  const outcomes = new Uint8Array(students * attempts);
  const starts = new Uint32Array(students + 1);
  const studentKeys: string[] = [];
  for (let student = 0; student < students; student += 1) {
    studentKeys.push(`student-${student}`);
    starts[student + 1] = (student + 1) * attempts;
    let known = random() < params.pInit;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const correct = known ? random() >= params.pSlip : random() < params.pGuess;
      outcomes[student * attempts + attempt] = correct ? 1 : 0;
      known = known ? random() >= params.pForget : random() < params.pLearn;
    }
  }
  return { outcomes, starts, studentKeys };
}
