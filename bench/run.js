// `npm run bench`: every row group of both services, one after the other (they share the machine's
// cores), reported as one table on stdout and as JSON under bench/results/ (see runner.js).
// Usage: node bench/run.js [--postgres] [--runs 5] [--duration 10] [--probes 300] [--only <group>[,<group>...]]
// Groups: single, tracing, batch, timeline, contention (the Logger); recompute, mastery, freshness, consumer
// (the Brain); bkt-em (the Brain's BKT fit, pure computation); bkt-fit (a fit end to end).
// With --postgres, only the PostgreSQL groups, on one throwaway server the bench starts and stops
// (postgres-server.js): pg-single, pg-batch (the Logger, one replica), pg-single-2replicas,
// pg-batch-2replicas (two replicas on one database); pg-feed-freshness, pg-feed-freshness-2replicas
// (the Logger's feed); pg-freshness, pg-freshness-2replicas (both services).
import { loggerGroups } from './learning-events.js';
import { brainGroups } from './concept-mastery.js';
import { bktGroups } from './bkt-em.js';
import { bktFitGroups } from './bkt-fit.js';
import { runBench } from './runner.js';

await runBench([...loggerGroups, ...brainGroups, ...bktGroups, ...bktFitGroups]);
