#!/usr/bin/env node
// `npm start`: runs every built service, each the way production runs it (OpenTelemetry loaded
// first with --import), from the repository root so the default sqlite:data/... databases land in
// ./data. Output is prefixed by service; if one service fails, the others are stopped.
// Ctrl-C stops them all gracefully.
import concurrently from 'concurrently';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const services = [
  { name: 'learning-events', color: 'cyan' },
  { name: 'concept-mastery', color: 'magenta' },
];

for (const { name } of services) {
  if (!existsSync(resolve(repoRoot, 'services', name, 'dist/src/main.js'))) {
    console.error(`services/${name} is not built: run \`npm run build\` (or \`npm start\`, which builds first).`);
    process.exit(1);
  }
}

const { result } = concurrently(
  services.map(({ name, color }) => ({
    name,
    prefixColor: color,
    command: `node --import ./services/${name}/dist/src/instrumentation.js ./services/${name}/dist/src/main.js`,
    cwd: repoRoot,
  })),
  { prefix: 'name', killOthersOn: ['failure'], killSignal: 'SIGTERM' },
);

// concurrently forwards Ctrl-C / SIGTERM to the services; stopping on request is a clean exit.
let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (stopRequested = true));

result.then(
  () => process.exit(0),
  () => process.exit(stopRequested ? 0 : 1),
);
