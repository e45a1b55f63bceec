// The BKT parameters in force, per concept: the rows of the highest version in bkt_params, held in
// memory and swapped atomically when a fit activates a new version. A concept without a row (too
// few students when fitted, or new since) uses the defaults.
import type { Knex } from '@learning-analytics/common';
import { DEFAULT_BKT_PARAMS, type BktParams } from '../domain/bkt/params.js';

export interface ConceptParams {
  concept_id: string;
  p_init: number;
  p_learn: number;
  p_guess: number;
  p_slip: number;
  p_forget: number;
  /** False: the concept had fewer than BKT_MIN_STUDENTS students; these are the defaults. */
  fitted: boolean;
  students: number;
  observations: number;
  log_likelihood: number | null;
  iterations: number;
}

export interface ActiveParams {
  /** 0: nothing fitted yet, every concept on the defaults. */
  version: number;
  fittedAt: number | undefined;
  concepts: Map<string, ConceptParams>;
}

interface ParamsRow extends Omit<ConceptParams, 'fitted' | 'observations'> {
  version: number;
  fitted: number | boolean;
  observations: number | string;
  fitted_at: number | string;
}

export const toBktParams = (row: ConceptParams): BktParams => ({
  pInit: row.p_init,
  pLearn: row.p_learn,
  pGuess: row.p_guess,
  pSlip: row.p_slip,
  pForget: row.p_forget,
});

export class BktParamsStore {
  private active: ActiveParams = { version: 0, fittedAt: undefined, concepts: new Map() };

  constructor(private readonly db: Knex) {}

  /** Puts in force the newest version in the database; whether it is newer than the one in force. */
  async load(): Promise<boolean> {
    const head = (await this.db('bkt_params').max({ version: 'version' }).first()) as { version: number | null } | undefined;
    const version = Number(head?.version ?? 0);
    if (version <= this.active.version) return false;
    const rows = (await this.db('bkt_params').select('*').where({ version })) as ParamsRow[];
    this.active = {
      version,
      fittedAt: Number(rows[0]?.fitted_at ?? 0),
      concepts: new Map(rows.map((row) => [row.concept_id, fromRow(row)])),
    };
    return true;
  }

  get current(): ActiveParams {
    return this.active;
  }

  /** The parameters of a concept now, with the version they belong to. */
  paramsOf(conceptId: string): { params: BktParams; version: number } {
    const row = this.active.concepts.get(conceptId);
    return { params: row ? toBktParams(row) : DEFAULT_BKT_PARAMS, version: this.active.version };
  }

  /** Stores a new version (one transaction) and puts it in force. */
  async activate(concepts: ConceptParams[], fittedAt: number): Promise<number> {
    const version = await this.db.transaction(async (trx) => {
      const head = (await trx('bkt_params').max({ version: 'version' }).first()) as { version: number | null } | undefined;
      const next = Number(head?.version ?? 0) + 1;
      for (let i = 0; i < concepts.length; i += 200) {
        await trx('bkt_params').insert(concepts.slice(i, i + 200).map((concept) => ({ ...concept, version: next, fitted_at: fittedAt })));
      }
      return next;
    });
    this.active = { version, fittedAt, concepts: new Map(concepts.map((concept) => [concept.concept_id, concept])) };
    return version;
  }
}

function fromRow(row: ParamsRow): ConceptParams {
  return {
    concept_id: row.concept_id,
    p_init: Number(row.p_init),
    p_learn: Number(row.p_learn),
    p_guess: Number(row.p_guess),
    p_slip: Number(row.p_slip),
    p_forget: Number(row.p_forget),
    fitted: Boolean(row.fitted),
    students: Number(row.students),
    observations: Number(row.observations),
    log_likelihood: row.log_likelihood === null ? null : Number(row.log_likelihood),
    iterations: Number(row.iterations),
  };
}
