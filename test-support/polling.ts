// Reading a running service from the outside: one metric sample, and waiting for a condition.
import { request } from './http.js';

/**
 * A sample's value in the Prometheus text, e.g. metric(text, 'mastery_feed_cursor_seq'). A labelled
 * sample not exported yet reads as 0; a metric the service does not declare at all (a misspelt name,
 * a renamed metric) throws, so a wait or an assertion on it cannot pass by reading 0 forever.
 */
export async function metric(serviceUrl: string, sample: string): Promise<number> {
  const text = (await request<string>(`${serviceUrl}/metrics`)).body;
  const lines = text.split('\n');
  const line = lines.find((l) => l.startsWith(`${sample} `));
  if (line !== undefined) return Number(line.slice(sample.length + 1));
  const name = sample.replace(/\{.*$/, '');
  const families = [name, name.replace(/_(bucket|sum|count)$/, '')];
  if (!lines.some((l) => families.some((family) => l.startsWith(`# TYPE ${family} `)))) {
    throw new Error(`${serviceUrl}/metrics declares no metric ${name} (asked for the sample ${sample})`);
  }
  return 0;
}

export interface PollOptions {
  /** Between checks. Default 25 ms. */
  pollMs?: number;
  /** Default 15 s: well inside jest's 120 s test timeout, so a test still has time to say why. */
  timeoutMs?: number;
}

type Check = () => boolean | Promise<boolean>;

/**
 * Polls `check` until it returns true. After `timeoutMs` it throws an error naming `what` it waited
 * for (a function is called then, to say what it saw last), also when a check itself never
 * returns, so a behaviour that never comes fails clearly rather than by jest's timer. A check that
 * throws fails at once.
 */
export function eventually(what: string | (() => string), check: Check, options?: PollOptions): Promise<void>;
/** The older form, without a description: the error quotes the check's source instead. */
export function eventually(check: Check, pollMs?: number, timeoutMs?: number): Promise<void>;
export function eventually(first: string | (() => string) | Check, second?: Check | number, third?: PollOptions | number): Promise<void> {
  if (typeof second === 'function') {
    return poll(first as string | (() => string), second, (third as PollOptions | undefined) ?? {}, eventually);
  }
  const check = first as Check;
  return poll(
    `the condition ${check.toString()}`,
    check,
    { pollMs: second, timeoutMs: (third as number | undefined) ?? 30_000 },
    eventually,
  );
}

/** `helper`: the outermost polling helper called, left out of the error's stack so it points at the test's line. */
async function poll(
  what: string | (() => string),
  check: Check,
  { pollMs = 25, timeoutMs = 15_000 }: PollOptions,
  helper: (...args: never[]) => unknown,
): Promise<void> {
  const failure = new Error();
  Error.captureStackTrace(failure, helper);
  const started = Date.now();
  let checkStarted: number;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((done) => (timer = setTimeout(() => done('expired'), timeoutMs)));
  const giveUp = (note = '') => {
    const described = typeof what === 'function' ? what() : what;
    failure.message = `Timed out after ${Date.now() - started} ms (limit ${timeoutMs} ms) waiting for ${described}${note}`;
    failure.stack = [`Error: ${failure.message}`, ...(failure.stack ?? '').split('\n').slice(1)].join('\n');
    return failure;
  };
  try {
    for (;;) {
      checkStarted = Date.now();
      const outcome = await Promise.race([Promise.resolve().then(check), expired]);
      if (outcome === true) return;
      if (outcome === 'expired') {
        // A check cut short as it began is the ordinary end of the wait; one running for long hangs.
        const running = Date.now() - checkStarted;
        throw giveUp(running > pollMs + 250 ? ` (the last check had been running for ${running} ms without returning)` : '');
      }
      if (Date.now() - started >= timeoutMs) throw giveUp();
      await Promise.race([new Promise((r) => setTimeout(r, pollMs)), expired]);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** How a metric must compare with its target. */
export type Comparison = '===' | '>=' | '>';

const compare: Record<Comparison, (value: number, target: number) => boolean> = {
  '===': (value, target) => value === target,
  '>=': (value, target) => value >= target,
  '>': (value, target) => value > target,
};

/**
 * Waits until a service's metric sample compares with `target` as asked, e.g.
 * `metricReaches(brain.url, 'mastery_feed_cursor_seq', '>=', head)`; on timeout the error names the
 * sample, the condition and the last value read.
 */
export async function metricReaches(
  serviceUrl: string,
  sample: string,
  comparison: Comparison,
  target: number,
  options: PollOptions = {},
): Promise<void> {
  let last: number | undefined;
  await poll(
    () => `${sample} ${comparison} ${target} at ${serviceUrl} (last read: ${last ?? 'none'})`,
    async () => compare[comparison]((last = await metric(serviceUrl, sample)), target),
    options,
    metricReaches,
  );
}
