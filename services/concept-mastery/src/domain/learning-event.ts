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
  /** The Logger's commit-order sequence number. */
  seq: number;
}
