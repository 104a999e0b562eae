import { watch } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

// Small enough that each chunk's strings stay in V8's young generation (cheap to collect).
const READ_BYTES = 60 * 1024;
const POLL_MS = 100;
/** A line longer than this is handed over in pieces, so output without newlines cannot grow agent memory. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * Follows one output file of a run (the container appends to it through a
 * bind mount) from a byte offset, handing over whole lines only. Files, not
 * Docker's log driver, carry the output: they are read at page-cache speed,
 * keep growing while the agent is down, and a byte offset resumes them exactly.
 */
export class OutputTailer {
  private carry: Buffer = Buffer.alloc(0);

  constructor(
    private readonly path: string,
    /** Offset of the first byte not yet handed over. */
    private offset: number,
    private readonly onText: (text: string, endOffset: number) => void,
  ) {}

  /** Reads until `finished()` says the writer is gone and the file is drained, or the signal aborts. */
  async run(finished: () => boolean, signal: AbortSignal): Promise<void> {
    const handle = await this.openWhenPresent(signal);
    if (!handle) return;
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    let position = this.offset + this.carry.length;
    try {
      while (!signal.aborted) {
        const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
        if (bytesRead > 0) {
          position += bytesRead;
          this.take(buffer.subarray(0, bytesRead));
          continue;
        }
        if (finished()) {
          // The writer is gone: a last line without "\n" is still output.
          if (this.carry.length > 0) this.emit(Buffer.concat([this.carry, Buffer.from("\n")]), this.carry.length);
          return;
        }
        await this.changed(signal);
      }
    } finally {
      await handle.close();
    }
  }

  private take(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const lastNewline = data.lastIndexOf(10);
    if (lastNewline < 0) {
      if (data.length >= MAX_LINE_BYTES) {
        // Cut where a UTF-8 character starts, never inside one.
        let cut = data.length;
        while (cut > 0 && (data[cut - 1]! & 0xc0) === 0x80) cut--;
        if (cut > 0 && data[cut - 1]! >= 0xc0) cut--;
        this.carry = Buffer.from(data.subarray(cut));
        this.emit(Buffer.concat([data.subarray(0, cut), Buffer.from("\n")]), cut);
        return;
      }
      this.carry = Buffer.from(data);
      return;
    }
    this.carry = Buffer.from(data.subarray(lastNewline + 1));
    this.emit(data.subarray(0, lastNewline + 1), lastNewline + 1);
  }

  private emit(text: Buffer, consumed: number): void {
    this.offset += consumed;
    this.onText(text.toString("utf8"), this.offset);
  }

  private async openWhenPresent(signal: AbortSignal): Promise<FileHandle | undefined> {
    while (!signal.aborted) {
      try {
        return await open(this.path, "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        await sleep(POLL_MS, signal);
      }
    }
    return undefined;
  }

  /** Resolves on the next change to the file, or after a short poll interval (watchers can miss events). */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let watcher: ReturnType<typeof watch> | undefined;
      const done = () => {
        clearTimeout(timer);
        watcher?.close();
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      try {
        watcher = watch(this.path, done);
      } catch {
        // The poll timer still wakes us.
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** The last `count` lines of a block of text ending in "\n", without splitting the whole block. */
export function lastLines(text: string, count: number): string[] {
  const lines: string[] = [];
  let end = text.endsWith("\n") ? text.length - 1 : text.length;
  while (lines.length < count && end > 0) {
    const start = text.lastIndexOf("\n", end - 1) + 1;
    lines.unshift(text.slice(start, end));
    end = start - 1;
  }
  return lines;
}
