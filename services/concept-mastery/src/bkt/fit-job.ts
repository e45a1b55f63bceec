// A fit: reads every event stored in the Logger when it starts (the feed from its start up to its
// head then), fits each concept with enough students by EM, evaluates BKT against the pass
// ratio on held-out students, and puts the new parameters in force at once. One at a time; each is
// recorded in bkt_fits, so its result can be read after a restart.
import { randomUUID } from 'node:crypto';
import { FEED_START, type Knex, type Logger } from '@learning-analytics/common';
import type { LearningEventsClient } from '../clients/learning-events-client.js';
import { gradeEvent } from '../domain/pass-ratio-model.js';
import type { PredictionMetrics } from '../domain/bkt/evaluation.js';
import { AnswerColumns } from './answer-columns.js';
import { fitInWorker } from './fit-worker-client.js';
import type { BktParamsStore, ConceptParams } from './params-store.js';
import type { BktMetrics } from './bkt-metrics.js';

export interface FitSettings {
  restarts: number;
  minStudents: number;
  maxGuess: number;
  maxSlip: number;
  fitForget: boolean;
  passScore: number;
  seed: number;
}

export interface ConceptEvaluation {
  concept_id: string;
  students: number;
  observations: number;
  bkt: PredictionMetrics;
  pass_ratio: PredictionMetrics;
}

export interface FitView {
  fit_id: string;
  status: 'running' | 'succeeded' | 'failed';
  started_at: string;
  finished_at?: string;
  progress: {
    phase: 'reading' | 'fitting' | 'activating' | 'done';
    events_read: number;
    answers: number;
    concepts_fitted: number;
    concepts_total: number;
  };
  /** When succeeded: the version put in force, each concept's parameters and the held-out evaluation. */
  version?: number;
  concepts?: ConceptParams[];
  evaluation?: ConceptEvaluation[];
  error?: string;
}

/** Events per feed page a fit reads. */
const READ_PAGE = 10_000;

export class FitJobs {
  private running: FitView | undefined;

  constructor(
    private readonly deps: {
      db: Knex;
      client: Pick<LearningEventsClient, 'readFeed'>;
      params: BktParamsStore;
      settings: FitSettings;
      metrics: BktMetrics;
      logger: Logger;
      /** Called once new parameters are in force. */
      onActivated: (version: number) => void;
    },
  ) {}

  /** A fit left `running` by a process that stopped is failed: nothing resumes it. */
  async markInterrupted(): Promise<void> {
    await this.deps
      .db('bkt_fits')
      .where({ status: 'running' })
      .update({ status: 'failed', finished_at: Date.now(), error: 'interrupted: the service stopped during the fit' });
  }

  /** Starts a fit in the background; undefined when one is already running. */
  async start(): Promise<FitView | undefined> {
    if (this.running) return undefined;
    const fit: FitView = {
      fit_id: randomUUID(),
      status: 'running',
      started_at: new Date().toISOString(),
      progress: { phase: 'reading', events_read: 0, answers: 0, concepts_fitted: 0, concepts_total: 0 },
    };
    this.running = fit;
    await this.deps.db('bkt_fits').insert({ fit_id: fit.fit_id, status: 'running', started_at: Date.parse(fit.started_at) });
    void this.run(fit);
    return fit;
  }

  async find(fitId: string): Promise<FitView | undefined> {
    if (this.running?.fit_id === fitId) return this.running;
    const row = (await this.deps.db('bkt_fits').where({ fit_id: fitId }).first()) as
      | {
          fit_id: string;
          status: FitView['status'];
          started_at: number | string;
          finished_at: number | string | null;
          result: string | null;
          error: string | null;
        }
      | undefined;
    if (!row) return undefined;
    const stored = row.result ? (JSON.parse(row.result) as FitView) : undefined;
    return {
      ...stored,
      fit_id: row.fit_id,
      status: row.status,
      started_at: new Date(Number(row.started_at)).toISOString(),
      ...(row.finished_at === null ? {} : { finished_at: new Date(Number(row.finished_at)).toISOString() }),
      progress: stored?.progress ?? { phase: 'done', events_read: 0, answers: 0, concepts_fitted: 0, concepts_total: 0 },
      ...(row.error ? { error: row.error } : {}),
    };
  }

  private async run(fit: FitView): Promise<void> {
    const { db, metrics, logger } = this.deps;
    const started = process.hrtime.bigint();
    try {
      const answers = await this.readAnswers(fit);
      fit.progress.phase = 'fitting';
      const { concepts, evaluation } = await fitInWorker(answers.byConcept(), this.deps.settings, (fitted, total) => {
        fit.progress.concepts_fitted = fitted;
        fit.progress.concepts_total = total;
      });
      fit.progress.phase = 'activating';
      const finishedAt = Date.now();
      const version = await this.deps.params.activate(concepts, finishedAt);
      Object.assign(fit, { status: 'succeeded', finished_at: new Date(finishedAt).toISOString(), version, concepts, evaluation });
      fit.progress.phase = 'done';
      await db('bkt_fits')
        .where({ fit_id: fit.fit_id })
        .update({ status: 'succeeded', finished_at: finishedAt, result: JSON.stringify(fit) });
      metrics.observeFit('succeeded', Number(process.hrtime.bigint() - started) / 1e9, fit.progress.answers, version, evaluation);
      logger.info({ fit_id: fit.fit_id, version, concepts: concepts.length, answers: fit.progress.answers }, 'BKT fit succeeded');
      this.deps.onActivated(version);
    } catch (err) {
      const finishedAt = Date.now();
      Object.assign(fit, { status: 'failed', finished_at: new Date(finishedAt).toISOString(), error: (err as Error).message });
      await db('bkt_fits')
        .where({ fit_id: fit.fit_id })
        .update({ status: 'failed', finished_at: finishedAt, result: JSON.stringify(fit), error: fit.error })
        .catch(() => undefined);
      metrics.observeFit('failed', Number(process.hrtime.bigint() - started) / 1e9, fit.progress.answers);
      logger.error({ fit_id: fit.fit_id, err }, 'BKT fit failed');
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Every graded answer stored when the fit started, read from the feed: from its start up to the
   * first event newer than the Logger's head then (above its seq), or to the end of the feed.
   */
  private async readAnswers(fit: FitView): Promise<AnswerColumns> {
    const { client, settings } = this.deps;
    const answers = new AnswerColumns();
    let cursor = FEED_START;
    let head: number | undefined;
    for (;;) {
      const page = await client.readFeed(cursor, READ_PAGE, 0);
      head ??= page.headSeq;
      let newer = false;
      for (const event of page.events) {
        if (event.seq > head) {
          newer = true;
          break;
        }
        const outcome = gradeEvent(event, settings.passScore);
        if (outcome === 'passed' || outcome === 'failed')
          answers.add(event.concept_id, event.user_id, event.occurredAt, event.seq, outcome === 'passed');
      }
      fit.progress.events_read += page.events.length;
      fit.progress.answers = answers.size;
      if (newer || page.nextCursor <= cursor) break;
      cursor = page.nextCursor;
    }
    return answers;
  }
}
