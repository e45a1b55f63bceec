// Every graded answer a fit reads, as columns of typed arrays (about 25 bytes an answer, however
// large the events' JSON was), then grouped into one ObservationsBuilder per concept with each
// student's answers in timeline order (timestamp, then seq).
import { ObservationsBuilder } from '../domain/bkt/observations.js';
import type { ConceptObservations } from '../domain/bkt/observations.js';

class Column<T extends Float64Array | Uint32Array | Uint8Array> {
  length = 0;
  constructor(public values: T) {}

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new (this.values.constructor as new (size: number) => T)(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
}

export class AnswerColumns {
  private readonly conceptIds: string[] = [];
  private readonly conceptIndex = new Map<string, number>();
  private readonly userIds: string[] = [];
  private readonly userIndex = new Map<string, number>();
  private readonly concept = new Column(new Uint32Array(1024));
  private readonly user = new Column(new Uint32Array(1024));
  private readonly time = new Column(new Float64Array(1024));
  private readonly seq = new Column(new Float64Array(1024));
  private readonly correct = new Column(new Uint8Array(1024));

  get size(): number {
    return this.correct.length;
  }

  add(conceptId: string, userId: string, occurredAt: number, seq: number, correct: boolean): void {
    this.concept.push(indexOf(this.conceptIndex, this.conceptIds, conceptId));
    this.user.push(indexOf(this.userIndex, this.userIds, userId));
    this.time.push(occurredAt);
    this.seq.push(seq);
    this.correct.push(correct ? 1 : 0);
  }

  /** Each concept's observations, students' answers in timeline order. */
  byConcept(): Map<string, ConceptObservations> {
    const concept = this.concept.values;
    const user = this.user.values;
    const time = this.time.values;
    const seq = this.seq.values;
    const order = new Uint32Array(this.size);
    for (let i = 0; i < order.length; i += 1) order[i] = i;
    order.sort((a, b) => concept[a]! - concept[b]! || user[a]! - user[b]! || time[a]! - time[b]! || seq[a]! - seq[b]!);
    const builders = new Map<number, ObservationsBuilder>();
    for (const i of order) {
      let builder = builders.get(concept[i]!);
      if (!builder) builders.set(concept[i]!, (builder = new ObservationsBuilder()));
      builder.add(this.userIds[user[i]!]!, this.correct.values[i] === 1);
    }
    return new Map([...builders].map(([index, builder]) => [this.conceptIds[index]!, builder.build()]));
  }
}

function indexOf(index: Map<string, number>, list: string[], key: string): number {
  let found = index.get(key);
  if (found === undefined) {
    found = list.length;
    index.set(key, found);
    list.push(key);
  }
  return found;
}
