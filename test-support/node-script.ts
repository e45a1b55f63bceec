// Runs a script under this test run's Node as a child process and reports how it ended: for
// checks that need their own process, such as Node flags (--expose-gc) or a crash of the runtime.
import { execFile } from 'node:child_process';

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runNodeScript(script: string, args: string[], nodeFlags: string[] = []): Promise<ScriptResult> {
  return new Promise((done) => {
    execFile(process.execPath, [...nodeFlags, script, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const failure = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      done({
        code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
        signal: failure?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}
