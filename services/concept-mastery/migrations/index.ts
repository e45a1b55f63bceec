// Every migration of the Concept Mastery Service, oldest first. Append; never edit a released one.
import type { Migration } from '@learning-analytics/common';
import { createMastery } from './001_create_mastery.js';
import { addErasure } from './002_erasure.js';
import { recordsPerModel } from './003_records_per_model.js';
import { bktTables } from './004_bkt.js';
import { deadLetters } from './005_dead_letters.js';
import { byteWiseIds } from './006_byte_wise_ids.js';
import { feedPositions } from './007_feed_positions.js';

export const migrations: Migration[] = [createMastery, addErasure, recordsPerModel, bktTables, deadLetters, byteWiseIds, feedPositions];
