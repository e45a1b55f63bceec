// A file whose parsed content is read again whenever the file changes: Kubernetes updates mounted
// Secrets, ConfigMaps and projected tokens in place (by swapping a symlink), and a rotated token or
// a revoked key must take effect without a restart. Each `current()` costs one stat.
import { readFileSync, statSync, type Stats } from 'node:fs';

export class ReloadingFile<T> {
  private value: T;
  private version: string;

  /** Reads and parses the file now: a missing or invalid file throws, naming `path`. */
  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    /** Told when a changed file cannot be used; the previous content stays in force. */
    private readonly onInvalid: (err: Error) => void = () => undefined,
  ) {
    const stats = statSync(path);
    this.value = this.read();
    this.version = versionOf(stats);
  }

  current(): T {
    const stats = statSync(this.path, { throwIfNoEntry: false });
    if (stats && versionOf(stats) !== this.version) {
      this.version = versionOf(stats);
      try {
        this.value = this.read();
      } catch (err) {
        this.onInvalid(err as Error);
      }
    }
    return this.value;
  }

  private read(): T {
    try {
      return this.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new Error(`${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function versionOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}
