// Where things are in the repository, and which services exist in this checkout.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const chartsDir = join(repoRoot, 'charts');
export const umbrellaChart = join(chartsDir, 'learning-analytics');
export const serviceCharts = ['learning-events', 'concept-mastery'];
export const allCharts = [...serviceCharts, 'learning-analytics'];

export const servicePath = (service) => join(repoRoot, 'services', service);

/** Fails with the command to run when a service has not been compiled. */
export function assertServiceBuilt(service) {
  const entry = join(servicePath(service), 'dist', 'src', 'main.js');
  if (!existsSync(entry)) {
    throw new Error(`${service} is not built (${entry} is missing): run \`npm run build\` first`);
  }
}
