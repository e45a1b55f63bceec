// `npm run bench`: every service's benchmarks, one after the other (they share the machine's cores).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let failed = false;
for (const bench of ['learning-events.js', 'concept-mastery.js']) {
  if (!existsSync(join(here, bench))) continue;
  console.log(`\n== ${bench}`);
  const result = spawnSync(process.execPath, [join(here, bench), ...args], { stdio: 'inherit' });
  failed ||= result.status !== 0;
}
process.exit(failed ? 1 : 0);
