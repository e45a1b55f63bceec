// Reads of the mastery records, through a bounded in-memory cache of each recently read student's
// records, on SQLite. Sound there because this process is the only writer of its database: every
// write (consumer or recompute) calls invalidate() once committed. A read stores its result only
// when no write committed while it ran, so a read that raced a write never caches what the write
// replaced. On PostgreSQL the cache is off: other replicas write the same records, and no local
// invalidation sees their commits. Telling every replica (NOTIFY) would still leave a window
// between a commit and its delivery in which a replica answers the older records, and a student's
// records are one index range read away anyway.
import { engineOf, type Knex } from '@learning-analytics/common';
import { listUserRecords } from './mastery-store.js';

interface CachedStudent {
  /** Each record's JSON, by concept, sorted by concept_id. */
  records: Array<{ conceptId: string; json: string }>;
  /** The records as one JSON array, answered as is. */
  json: string;
}

export class MasteryReads {
  /** By student, then model. Insertion order is recency order: a hit is re-inserted, the oldest is evicted first. */
  private readonly students = new Map<string, Map<string, CachedStudent>>();
  private commits = 0;
  private readonly maxStudents: number;

  constructor(
    private readonly db: Knex,
    maxStudents: number,
  ) {
    this.maxStudents = engineOf(db) === 'postgres' ? 0 : maxStudents;
  }

  /** A student's records of one model, sorted by concept_id, as a JSON array. */
  async studentJson(userId: string, model: string): Promise<string> {
    return (await this.student(userId, model)).json;
  }

  /** One record as JSON, or undefined. */
  async recordJson(userId: string, conceptId: string, model: string): Promise<string | undefined> {
    return (await this.student(userId, model)).records.find((r) => r.conceptId === conceptId)?.json;
  }

  /** Call after a transaction that wrote these students' records committed. */
  invalidate(userIds: Iterable<string>): void {
    this.commits += 1;
    for (const userId of userIds) this.students.delete(userId);
  }

  private async student(userId: string, model: string): Promise<CachedStudent> {
    const models = this.students.get(userId);
    const hit = models?.get(model);
    if (models && hit) {
      this.students.delete(userId);
      this.students.set(userId, models);
      return hit;
    }
    const commitsBefore = this.commits;
    const records = await listUserRecords(this.db, userId, model);
    const student = { records, json: `[${records.map((r) => r.json).join(',')}]` };
    if (this.maxStudents > 0 && this.commits === commitsBefore) {
      const cached = this.students.get(userId) ?? new Map<string, CachedStudent>();
      cached.set(model, student);
      this.students.delete(userId);
      this.students.set(userId, cached);
      if (this.students.size > this.maxStudents) this.students.delete(this.students.keys().next().value!);
    }
    return student;
  }
}
