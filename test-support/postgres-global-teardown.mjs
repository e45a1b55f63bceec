// Jest globalTeardown paired with postgres-global-setup.mjs: stops the server that the setup
// started, if it started one. A run that never gets here (interrupted, killed) leaves nothing
// either: postgres.ts's watchdog shuts the server down and removes its dir.
import { serverKey } from './postgres-global-setup.mjs';

export default async function stopTestPostgres() {
  const server = globalThis[serverKey];
  if (server === undefined) return;
  delete globalThis[serverKey];
  delete process.env.TEST_POSTGRES_URL;
  await server.stop();
}
