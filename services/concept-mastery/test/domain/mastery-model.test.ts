// The mastery models are pure folds: recompute (fold over a whole history) and the real-time
// consumer (one event at a time, resuming from a stored record) must agree. Checked here over
// generated histories, also ones whose feed order (by position) is not seq order, as with several
// Logger writers; the services' tests check the same through HTTP.
import fc from 'fast-check';
import { FEED_START, feedPosition } from '@learning-analytics/common';
import {
  applyEvent,
  applyFeedEvent,
  foldHistory,
  foldSettledHistory,
  isBackDated,
  type ConceptMastery,
} from '../../src/domain/mastery-model.js';
import { createPassRatioModel, type PassRatioState } from '../../src/domain/pass-ratio-model.js';
import type { LearningEvent } from '../../src/domain/learning-event.js';

const PASS_SCORE = 60;
const model = createPassRatioModel(PASS_SCORE);

const detailsArbitrary = fc.oneof(
  fc.record({ score: fc.double({ min: 0, max: 100, noNaN: true }) }),
  fc.record({ score: fc.constantFrom(0, 59.9, 59.99, 60, 60.01, 100) }),
  fc.record({ correct: fc.boolean() }),
  fc.record({ score: fc.double({ min: 0, max: 100, noNaN: true }), correct: fc.boolean() }),
  fc.constant({}),
  fc.record({ score: fc.constant('80') }),
);

/** A history of one student in feed order, one writer's (seq order), with timestamps in any order (back-dated events). */
const historyArbitrary = fc
  .array(
    fc.record({
      event_type: fc.constantFrom('quiz_attempt', 'quiz_attempt', 'video_watched', 'assignment_submitted'),
      concept_id: fc.constantFrom('fractions', 'algebra', 'geometry'),
      event_details: detailsArbitrary,
      occurredAt: fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
    }),
    { maxLength: 200 },
  )
  .map((items) =>
    items.map((item, i): LearningEvent => ({
      ...item,
      event_id: `e${i}`,
      user_id: 'u',
      event_details: item.event_details,
      recordedAt: item.occurredAt,
      seq: i + 1,
      position: feedPosition(0, i + 1),
    })),
  );

/**
 * A history as several Logger writers make it: each event's seq is drawn when it is inserted, its
 * transaction number is that of the transaction writing it, and the feed serves in position order
 * (transaction, then seq), which interleaves the seqs. Returned in feed order.
 */
const interleavedHistoryArbitrary = historyArbitrary
  .chain((events) =>
    fc.tuple(fc.constant(events), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: events.length, maxLength: events.length })),
  )
  .map(([events, transactions]) =>
    events
      .map((event, i) => ({ ...event, position: feedPosition(1000 + transactions[i]!, event.seq) }))
      .sort((a, b) => (a.position < b.position ? -1 : 1)),
  );

const timelineOrder = (events: LearningEvent[]) => [...events].sort((x, y) => x.occurredAt - y.occurredAt || x.seq - y.seq);

const oneAtATime = (events: LearningEvent[], start = new Map<string, ConceptMastery<PassRatioState>>()) => {
  const concepts = new Map(start);
  for (const event of events) {
    const { mastery, applied } = applyFeedEvent(model, concepts.get(event.concept_id), event);
    if (applied) concepts.set(event.concept_id, mastery);
  }
  return concepts;
};

test('fold over a history == applying its events one at a time (recompute == real time)', () => {
  fc.assert(
    fc.property(historyArbitrary, (events) => {
      expect(oneAtATime(events)).toEqual(foldHistory(model, events));
    }),
  );
});

test('split at any point: folding the rest onto the first part == folding everything', () => {
  fc.assert(
    fc.property(historyArbitrary, fc.nat(), (events, at) => {
      const split = events.length === 0 ? 0 : at % (events.length + 1);
      const first = foldHistory(model, events.slice(0, split));
      expect(foldHistory(model, events.slice(split), first)).toEqual(foldHistory(model, events));
      // The consumer resuming from a recompute's records reaches the same state too.
      expect(oneAtATime(events.slice(split), first)).toEqual(foldHistory(model, events));
    }),
  );
});

test('replaying events a record already holds changes nothing (no double counting)', () => {
  fc.assert(
    fc.property(historyArbitrary, fc.nat(), fc.nat(), (events, a, b) => {
      const n = events.length + 1;
      const [from, to] = [a % n, b % n].sort((x, y) => x - y) as [number, number];
      const upTo = foldHistory(model, events.slice(0, to));
      // The feed redelivers from an older cursor: the overlap is skipped by the seq guard.
      expect(oneAtATime(events.slice(from), upTo)).toEqual(foldHistory(model, events));
    }),
  );
});

test('order does not matter: timeline order (recompute) and commit order (feed) agree', () => {
  fc.assert(
    fc.property(historyArbitrary, (events) => {
      expect(foldHistory(model, timelineOrder(events))).toEqual(foldHistory(model, events));
    }),
  );
});

describe('feed order by position, not seq (several Logger writers)', () => {
  test('the generated feeds do interleave seqs', () => {
    const feeds = fc.sample(interleavedHistoryArbitrary, 200);
    expect(feeds.some((events) => events.some((event, i) => i > 0 && event.seq < events[i - 1]!.seq))).toBe(true);
  });

  test('applying the feed one event at a time == folding the timeline (recompute == real time)', () => {
    fc.assert(
      fc.property(interleavedHistoryArbitrary, (feed) => {
        expect(oneAtATime(feed)).toEqual(foldHistory(model, timelineOrder(feed)));
      }),
    );
  });

  test('redelivery from any earlier cursor is skipped by position: no event counted twice or lost', () => {
    fc.assert(
      fc.property(interleavedHistoryArbitrary, fc.nat(), fc.nat(), (feed, a, b) => {
        const n = feed.length + 1;
        const [from, to] = [a % n, b % n].sort((x, y) => x - y) as [number, number];
        const upTo = oneAtATime(feed.slice(0, to));
        expect(oneAtATime(feed.slice(from), upTo)).toEqual(foldHistory(model, timelineOrder(feed)));
      }),
    );
  });

  test('a seq guard would go wrong on such a feed: it skips an event it never applied', () => {
    const feed = fc.sample(interleavedHistoryArbitrary, 500).find((events) => events.some((e, i) => i > 0 && e.seq < events[i - 1]!.seq));
    const at = feed!.findIndex((e, i) => i > 0 && e.seq < feed![i - 1]!.seq);
    const applied = feed!.slice(0, at);
    const highestSeq = Math.max(...applied.map((e) => e.seq));
    // Not yet applied, yet below the highest seq applied: only its position says it is new.
    expect(feed![at]!.seq).toBeLessThan(highestSeq);
    expect(feed![at]!.position > applied.at(-1)!.position).toBe(true);
  });

  test('a recompute folding a settled listing (everything up to its Feed-Settled-Through), then the feed from any cursor up to there, == folding everything', () => {
    fc.assert(
      fc.property(interleavedHistoryArbitrary, fc.nat(), fc.nat(), (feed, s, c) => {
        // Settled through any point of the feed; events above it are committed but not listed (settled=true).
        const settledAt = s % (feed.length + 1);
        const settledThrough = settledAt === 0 ? FEED_START : feed[settledAt - 1]!.position;
        const listing = timelineOrder(feed.slice(0, settledAt));
        const recomputed = foldSettledHistory(model, listing, settledThrough);
        for (const mastery of recomputed.values()) expect(mastery.lastPosition).toBe(settledThrough);
        // The consumer's cursor anywhere up to the settled point: what it redelivers below it is skipped.
        const cursorAt = c % (settledAt + 1);
        expect(oneAtATime(feed.slice(cursorAt), recomputed)).toEqual(
          new Map(
            [...foldHistory(model, timelineOrder(feed))].map(([concept, mastery]) => [
              concept,
              laterPosition(mastery, recomputed.get(concept)),
            ]),
          ),
        );
      }),
    );
  });
});

/** The fold, claiming the recompute's settled position when that is further than its last event. */
function laterPosition(mastery: ConceptMastery<PassRatioState>, recomputed: ConceptMastery<PassRatioState> | undefined) {
  return recomputed && recomputed.lastPosition > mastery.lastPosition ? { ...mastery, lastPosition: recomputed.lastPosition } : mastery;
}

describe('back-dated events, for models that depend on order (timeline order: timestamp, then seq)', () => {
  const at = (occurredAt: number, seq: number): LearningEvent => ({
    event_id: `e${seq}`,
    user_id: 'u',
    event_type: 'quiz_attempt',
    concept_id: 'c',
    event_details: { score: 100 },
    occurredAt,
    recordedAt: occurredAt,
    seq,
    position: feedPosition(1, seq),
  });
  const recordOf = (...events: LearningEvent[]) => foldHistory(model, events).get('c');

  test.each([
    ['an earlier timestamp', true, at(5, 9)],
    ['the same timestamp and a lower seq (another writer committed it later)', true, at(10, 3)],
    ['the same timestamp and a higher seq', false, at(10, 9)],
    ['a later timestamp and a lower seq', false, at(11, 1)],
  ])('%s: back-dated %s', (_name, backDated, event) => {
    expect(isBackDated(recordOf(at(1, 2), at(10, 7)), event)).toBe(backDated);
  });

  test("the record's last event is the latest in timeline order, whatever order the events came in", () => {
    expect(recordOf(at(10, 7), at(10, 3), at(4, 8))).toMatchObject({ lastEventAt: 10, lastEventSeq: 7, lastPosition: feedPosition(1, 8) });
  });
});

test('the ratio is passed / graded attempts x 100, within 0-100', () => {
  fc.assert(
    fc.property(historyArbitrary, (events) => {
      const folded = foldHistory(model, events);
      // One record per concept the events name: the checks below then cover every one.
      expect([...folded.keys()].sort()).toEqual([...new Set(events.map((e) => e.concept_id))].sort());
      for (const [conceptId, mastery] of folded) {
        const graded = events.filter((e) => e.concept_id === conceptId && e.event_type === 'quiz_attempt' && isGraded(e.event_details));
        const passed = graded.filter((e) => isPassed(e.event_details));
        expect(model.fields(mastery.state)).toEqual({ total_attempts: graded.length, successful_attempts: passed.length });
        const score = model.score(mastery.state);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(100);
        expect(score).toBe(graded.length === 0 ? 0 : (passed.length / graded.length) * 100);
        const own = events.filter((e) => e.concept_id === conceptId);
        expect(mastery.lastPosition).toBe(feedPosition(0, Math.max(...own.map((e) => e.seq))));
        expect(mastery.lastEventAt).toBe(Math.max(...own.map((e) => e.occurredAt)));
      }
    }),
  );
});

function isGraded(details: Record<string, unknown>) {
  return typeof details.score === 'number' || typeof details.correct === 'boolean';
}
function isPassed(details: Record<string, unknown>) {
  return (typeof details.score === 'number' && details.score >= PASS_SCORE) || details.correct === true;
}

describe('grading a quiz_attempt (PASS_SCORE 60)', () => {
  const quiz = (event_details: Record<string, unknown>, event_type = 'quiz_attempt'): LearningEvent => ({
    event_id: 'e',
    user_id: 'u',
    concept_id: 'c',
    event_type,
    event_details,
    occurredAt: 0,
    recordedAt: 0,
    seq: 1,
    position: feedPosition(0, 1),
  });
  test.each([
    [{ score: 60 }, 'passed'],
    [{ score: 59.9 }, 'failed'],
    [{ score: 100 }, 'passed'],
    [{ score: 0 }, 'failed'],
    [{ correct: true }, 'passed'],
    [{ correct: false }, 'failed'],
    [{ score: 10, correct: true }, 'passed'],
    [{ score: 90, correct: false }, 'passed'],
    [{}, 'quiz_attempt_without_grade'],
    [{ score: '80' }, 'quiz_attempt_without_grade'],
    [{ correct: 'yes' }, 'quiz_attempt_without_grade'],
  ])('%j -> %s', (details, outcome) => {
    expect(model.classify(quiz(details))).toBe(outcome);
  });
  test('other event types do not change the ratio', () => {
    const event = quiz({ score: 100 }, 'video_watched');
    expect(model.classify(event)).toBe('not_a_quiz_attempt');
    const state = { total: 3, successful: 1 };
    expect(model.apply(state, event)).toBe(state);
    expect(applyEvent(model, { state, lastEventAt: 0, lastEventSeq: 0, lastPosition: FEED_START }, event, event.position).state).toEqual(
      state,
    );
  });
});
