// The worker thread of a fit: receives each concept's observations (their typed arrays moved, not
// copied), fits and evaluates them, and posts progress and the result back.
import { parentPort } from 'node:worker_threads';
import type { ConceptObservations } from '../domain/bkt/observations.js';
import { fitConcepts } from './fit-concepts.js';
import type { FitSettings } from './fit-job.js';

const port = parentPort!;
port.once('message', ({ concepts, settings }: { concepts: Array<[string, ConceptObservations]>; settings: FitSettings }) => {
  try {
    const result = fitConcepts(new Map(concepts), settings, (fitted, total) => port.postMessage({ kind: 'progress', fitted, total }));
    port.postMessage({ kind: 'done', result });
  } catch (err) {
    port.postMessage({ kind: 'failed', message: (err as Error).message });
  }
  port.close();
});
