// For fixtures run with `node --expose-gc`. Collections driven by allocation come first: they
// finalize objects the way a busy service does, and that is where better-sqlite3 12 aborted on
// Node 24 (an explicit gc() alone did not). Then a forced full collection, and a turn of the
// event loop for finalizers that run as tasks.
export async function collectGarbage() {
  let garbage = [];
  for (let i = 0; i < 300_000; i += 1) {
    garbage.push({ i, text: `garbage ${i}` });
    if (garbage.length > 1000) garbage = [];
  }
  globalThis.gc();
  await new Promise((next) => setTimeout(next, 1));
}
