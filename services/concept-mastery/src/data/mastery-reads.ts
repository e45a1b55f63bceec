// Reads of the mastery records, through a bounded in-memory cache of each recently read student's
// records. Sound because this process is the only writer of its database: every write (consumer
// or recompute) calls invalidate() once committed. A read stores its result only when no write
// committed while it ran, so a read that raced a write never caches what the write replaced.
import type { Knex } from '@learning-analytics/common';
import type { MasteryRecordView } from '../schemas.js';
import { listUserRecords } from './mastery-store.js';

interface CachedStudent {
  records: MasteryRecordView[];
  /** The records serialized once, answered as is. */
  json: string;
}

export class MasteryReads {
  /** Insertion order is recency order: a hit is re-inserted, the oldest is evicted first. */
  private readonly students = new Map<string, CachedStudent>();
  private commits = 0;

  constructor(
    private readonly db: Knex,
    private readonly maxStudents: number,
  ) {}

  /** A student's records sorted by concept_id, as JSON. */
  async studentJson(userId: string): Promise<string> {
    return (await this.student(userId)).json;
  }

  async record(userId: string, conceptId: string): Promise<MasteryRecordView | undefined> {
    return (await this.student(userId)).records.find((r) => r.concept_id === conceptId);
  }

  /** Call after a transaction that wrote these students' records committed. */
  invalidate(userIds: Iterable<string>): void {
    this.commits += 1;
    for (const userId of userIds) this.students.delete(userId);
  }

  private async student(userId: string): Promise<CachedStudent> {
    const hit = this.students.get(userId);
    if (hit) {
      this.students.delete(userId);
      this.students.set(userId, hit);
      return hit;
    }
    const commitsBefore = this.commits;
    const records = await listUserRecords(this.db, userId);
    const student = { records, json: JSON.stringify(records) };
    if (this.maxStudents > 0 && this.commits === commitsBefore) {
      this.students.set(userId, student);
      if (this.students.size > this.maxStudents) this.students.delete(this.students.keys().next().value!);
    }
    return student;
  }
}
