// A learning event as the Brain reads it from the Learning Events Service (already validated at
// the client's edge), with its times in UTC milliseconds.
export interface LearningEvent {
  event_id: string;
  user_id: string;
  event_type: string;
  concept_id: string;
  event_details: Record<string, unknown>;
  /** When it happened, UTC milliseconds. */
  occurredAt: number;
  /** When the Logger received it, UTC milliseconds. */
  recordedAt: number;
  /** The Logger's sequence number: unique, and the tie-break of timeline order (timestamp, then seq). */
  seq: number;
}

/** An event as the feed serves it: with its place in the feed. */
export interface FeedEvent extends LearningEvent {
  /**
   * A feed position (see feedPosition in common): positions compare as strings in feed order,
   * which with several Logger writers is not seq order.
   */
  position: string;
}
