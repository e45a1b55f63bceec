// Loaded with `node --import` before main.js: starts OpenTelemetry for this service.
import { startTelemetry } from '@learning-analytics/common/instrumentation';

startTelemetry('concept-mastery');
