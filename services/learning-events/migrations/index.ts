// Every migration of the Learning Events Service, oldest first. Append; never edit a released one.
import type { Migration } from '@learning-analytics/common';
import { createEvents } from './001_create_events.js';
import { createErasures } from './002_create_erasures.js';
import { createWriteProbe } from './003_create_write_probe.js';
import { byteWiseIds } from './004_byte_wise_ids.js';
import { feedPositions } from './005_feed_positions.js';

export const migrations: Migration[] = [createEvents, createErasures, createWriteProbe, byteWiseIds, feedPositions];
