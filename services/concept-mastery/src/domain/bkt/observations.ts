// Many students' answers to one concept, in the compact form the fit and the evaluation read: one
// byte per answer and one offset per student, so a million answers take about a megabyte and
// iterating over them allocates nothing.

export interface ConceptObservations {
  /** Every answer, 1 correct and 0 wrong; each student's answers together, in timeline order. */
  readonly outcomes: Uint8Array;
  /**
   * Sequence start offsets, one more than there are sequences: sequence i is
   * outcomes[starts[i]] up to (not including) outcomes[starts[i + 1]].
   */
  readonly starts: Uint32Array;
  /** The student of each sequence. */
  readonly studentKeys: readonly string[];
}

export const sequenceCount = (observations: ConceptObservations): number => observations.starts.length - 1;

/** The outcomes of sequence `index`, as a view (no copy). */
export function sequenceOutcomes(observations: ConceptObservations, index: number): Uint8Array {
  const { outcomes, starts } = observations;
  return outcomes.subarray(starts[index], starts[index + 1]);
}

/** The given sequences, in the given order, copied into a container of their own. */
export function selectSequences(observations: ConceptObservations, indices: ArrayLike<number>): ConceptObservations {
  const starts = new Uint32Array(indices.length + 1);
  for (let i = 0; i < indices.length; i += 1) {
    starts[i + 1] = (starts[i] as number) + sequenceOutcomes(observations, indices[i] as number).length;
  }
  const outcomes = new Uint8Array(starts[indices.length] as number);
  const studentKeys: string[] = [];
  for (let i = 0; i < indices.length; i += 1) {
    const index = indices[i] as number;
    outcomes.set(sequenceOutcomes(observations, index), starts[i]);
    studentKeys.push(observations.studentKeys[index] as string);
  }
  return { outcomes, starts, studentKeys };
}

/**
 * Collects answers in the order they arrive, students interleaved (a concept's timeline), and groups
 * them by student in `build`. It holds five bytes per answer and one entry per student.
 */
export class ObservationsBuilder {
  readonly #studentIndex = new Map<string, number>();
  readonly #studentKeys: string[] = [];
  #outcomes = new Uint8Array(1024);
  #students = new Uint32Array(1024);
  #length = 0;

  /** One more answer of `studentKey`, later than every answer added before for that student. */
  add(studentKey: string, correct: boolean): this {
    this.#push(this.#indexOf(studentKey), correct);
    return this;
  }

  /** More answers of one student, in their order, later than that student's earlier ones. */
  addSequence(studentKey: string, outcomes: Iterable<boolean>): this {
    const student = this.#indexOf(studentKey);
    for (const correct of outcomes) this.#push(student, correct);
    return this;
  }

  /** The answers so far, grouped by student (students in order of their first answer). */
  build(): ConceptObservations {
    const studentCount = this.#studentKeys.length;
    const starts = new Uint32Array(studentCount + 1);
    const answersOf = new Uint32Array(studentCount);
    for (let i = 0; i < this.#length; i += 1) {
      const student = this.#students[i] as number;
      answersOf[student] = (answersOf[student] as number) + 1;
    }
    for (let s = 0; s < studentCount; s += 1) starts[s + 1] = (starts[s] as number) + (answersOf[s] as number);
    // A stable counting sort: each student's answers keep their arrival order.
    const next = starts.slice(0, studentCount);
    const outcomes = new Uint8Array(this.#length);
    for (let i = 0; i < this.#length; i += 1) {
      const student = this.#students[i] as number;
      const position = next[student] as number;
      outcomes[position] = this.#outcomes[i] as number;
      next[student] = position + 1;
    }
    return { outcomes, starts, studentKeys: [...this.#studentKeys] };
  }

  #indexOf(studentKey: string): number {
    let index = this.#studentIndex.get(studentKey);
    if (index === undefined) {
      index = this.#studentKeys.length;
      this.#studentIndex.set(studentKey, index);
      this.#studentKeys.push(studentKey);
    }
    return index;
  }

  #push(student: number, correct: boolean): void {
    if (this.#length === this.#outcomes.length) {
      const outcomes = new Uint8Array(this.#length * 2);
      outcomes.set(this.#outcomes);
      this.#outcomes = outcomes;
      const students = new Uint32Array(this.#length * 2);
      students.set(this.#students);
      this.#students = students;
    }
    this.#outcomes[this.#length] = correct ? 1 : 0;
    this.#students[this.#length] = student;
    this.#length += 1;
  }
}
