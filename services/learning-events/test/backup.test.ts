// Backup and restore, as the README tells an operator to do them: `npm run backup`'s script copies
// the running Logger's database while events keep arriving; the Logger is stopped, the copy put in
// its database's place, and started again. Everything acknowledged before the backup began is
// there, nothing acknowledged after it ended is, and new events follow on.
import { copyFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../../../test-support/http.js';
import { runNodeScript } from '../../../test-support/node-script.js';
import { quiz, startLogger, type LoggerUnderTest } from './support.js';

const backupScript = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'common/dist/backup-cli.js');

let logger: LoggerUnderTest;
beforeAll(async () => {
  logger = await startLogger();
});
afterAll(() => logger.stop());

const post = async (user: string, count: number) => {
  const res = await request(`${logger.url}/events/batch`, { json: Array.from({ length: count }, (_, i) => quiz(user, `c${i % 4}`)) });
  expect(res.status).toBe(201);
};
const timeline = async (user: string) => (await request<unknown[]>(`${logger.url}/events/${user}`)).body.length;

test('a backup taken while events arrive restores to a consistent state; the Logger goes on from it', async () => {
  const file = logger.databaseUrl.replace(/^sqlite:/, '');
  const backup = `${file}.backup`;
  for (let i = 0; i < 3; i += 1) await post('before', 1000);

  let writing = true;
  let during = 0;
  const writer = (async () => {
    while (writing) {
      await post('during', 50);
      during += 50;
    }
  })();
  const result = await runNodeScript(backupScript, [logger.databaseUrl, backup]);
  writing = false;
  await writer;
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(during).toBeGreaterThan(0); // batches did arrive while the backup ran
  expect(JSON.parse(result.stdout)).toMatchObject({ backup, pages: expect.any(Number) });
  await post('after', 20);

  const again = await runNodeScript(backupScript, [logger.databaseUrl, backup]);
  expect(again.code).toBe(2); // a backup never overwrites a file
  expect(again.stderr).toContain('exists already');

  await logger.service.kill('SIGTERM');
  copyFileSync(backup, file);
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  await logger.restart();

  expect(await timeline('before')).toBe(3000);
  const restoredDuring = await timeline('during');
  expect(restoredDuring).toBeLessThanOrEqual(during);
  expect(restoredDuring % 50).toBe(0); // whole batches: a consistent state, never half a commit
  expect(await timeline('after')).toBe(0);
  const next = await request(`${logger.url}/events`, { json: quiz('after-restore', 'c') });
  expect(next.status).toBe(201);
  expect(await timeline('after-restore')).toBe(1);
});
