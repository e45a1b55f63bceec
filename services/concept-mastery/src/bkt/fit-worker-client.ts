// Runs fitConcepts on a worker thread (fit-worker.ts): EM over a million answers takes seconds of
// CPU, which the event loop answering requests and following the feed must not wait for.
import { Worker } from 'node:worker_threads';
import type { ConceptObservations } from '../domain/bkt/observations.js';
import type { fitConcepts } from './fit-concepts.js';
import type { FitSettings } from './fit-job.js';

type FitResult = ReturnType<typeof fitConcepts>;

type FromWorker =
  { kind: 'progress'; fitted: number; total: number } | { kind: 'done'; result: FitResult } | { kind: 'failed'; message: string };

export function fitInWorker(
  byConcept: Map<string, ConceptObservations>,
  settings: FitSettings,
  onProgress: (fitted: number, total: number) => void,
): Promise<FitResult> {
  // No --import: telemetry belongs to the main thread.
  const worker = new Worker(new URL('./fit-worker.js', import.meta.url), { execArgv: [] });
  const concepts = [...byConcept];
  const transfer = concepts.flatMap(([, observations]) => [observations.outcomes.buffer, observations.starts.buffer]) as ArrayBuffer[];
  return new Promise<FitResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (message: FromWorker) => {
      if (message?.kind === 'progress') onProgress(message.fitted, message.total);
      else if (message?.kind === 'done') {
        settled = true;
        resolve(message.result);
      } else if (message?.kind === 'failed') {
        settled = true;
        reject(new Error(message.message));
      }
    });
    worker.once('error', (err: Error) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the fit's worker thread exited (${code})`));
    });
    worker.postMessage({ concepts, settings }, transfer);
  });
}
