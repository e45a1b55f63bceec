// The metrics of BKT fits and of deriving the records again after one.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConceptEvaluation } from './fit-job.js';

export interface BktMetrics {
  observeFit(status: 'succeeded' | 'failed', seconds: number, answers: number, version?: number, evaluation?: ConceptEvaluation[]): void;
  rederive: { pending: Gauge; done: Counter };
  paramsVersion: Gauge;
}

export function createBktMetrics(registry: Registry): BktMetrics {
  const fits = new Counter({
    name: 'bkt_fits_total',
    help: 'BKT fits ended, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of ['succeeded', 'failed']) fits.inc({ status }, 0); // exported from the start: rate() misses a first sample
  const duration = new Histogram({
    name: 'bkt_fit_duration_seconds',
    help: 'Duration of a BKT fit, reading the events included.',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const observations = new Gauge({ name: 'bkt_fit_observations', help: 'Graded answers the last fit read.', registers: [registry] });
  const paramsVersion = new Gauge({
    name: 'bkt_params_version',
    help: 'The BKT parameters version in force (0: the defaults).',
    registers: [registry],
  });
  const auc = new Gauge({
    name: 'bkt_evaluation_auc',
    help: "The last fit's held-out AUC by model (bkt, pass_ratio), mean over the fitted concepts weighted by answers.",
    labelNames: ['model'] as const,
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'bkt_rederive_pending_records',
    help: 'BKT records still computed with older parameters, being derived again in the background.',
    registers: [registry],
  });
  const done = new Counter({
    name: 'bkt_rederived_records_total',
    help: 'BKT records derived again with new parameters.',
    registers: [registry],
  });
  return {
    observeFit(status, seconds, answers, version, evaluation) {
      fits.inc({ status });
      duration.observe(seconds);
      observations.set(answers);
      if (version !== undefined) paramsVersion.set(version);
      if (evaluation && evaluation.length > 0) {
        const weight = evaluation.reduce((sum, concept) => sum + concept.observations, 0);
        for (const model of ['bkt', 'pass_ratio'] as const) {
          auc.set({ model }, evaluation.reduce((sum, concept) => sum + concept[model].auc * concept.observations, 0) / weight);
        }
      }
    },
    rederive: { pending, done },
    paramsVersion,
  };
}
