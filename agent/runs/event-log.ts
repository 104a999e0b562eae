import { closeSync, openSync, readSync, truncateSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { RunEvent } from "../../shared/gen/berth/v1/run.js";

type NewEvent = Omit<RunEvent, "seq" | "time" | "runId">;

const INDEX_EVERY = 64;
// Under V8's large-object size, so the strings made from a chunk die young instead of growing old space.
const READ_CHUNK = 64 * 1024;

/**
 * A run's events, one JSON line each in `<run dir>/events.jsonl`. Appends are
 * synchronous writes, so an event is on disk (in the page cache) before
 * anyone is told of it. Readers always read from the file, each with its own
 * small buffer: a slow reader costs disk reads, never agent memory.
 */
export class EventLog {
  private fd: number;
  private size = 0;
  private seq = 0;
  /** Sparse seq → byte offset of that event's line, for resuming without scanning the whole file. */
  private readonly index: { seq: number; offset: number }[] = [];
  private waiters = new Set<() => void>();
  private closed = false;
  /** Where each output stream had been read to, as the last Output events say (set by reopen). */
  outputOffsets = { stdout: 0, stderr: 0 };

  private constructor(
    private readonly path: string,
    private readonly runId: string,
    private readonly now: () => Date,
  ) {
    this.fd = openSync(path, "a+", 0o600);
  }

  static create(path: string, runId: string, now: () => Date = () => new Date()): EventLog {
    return new EventLog(path, runId, now);
  }

  /** Reopens an existing log after a restart, rebuilding the index and the last seq. */
  static reopen(path: string, runId: string, now: () => Date = () => new Date()): EventLog {
    const lines: { seq: number; lineOffset: number }[] = [];
    const offsets = { stdout: 0, stderr: 0 };
    let end = 0;
    for (const { seq, lineOffset, lineLength, output } of scanLines(path)) {
      lines.push({ seq, lineOffset });
      if (output) offsets[output.stream] = output.offset;
      end = lineOffset + lineLength;
    }
    // A line torn by a crash mid-write is cut off, so appends continue from the last whole event.
    truncateSync(path, end);
    const log = new EventLog(path, runId, now);
    for (const { seq, lineOffset } of lines) {
      log.noteIndex(seq, lineOffset);
      log.seq = seq;
    }
    log.size = end;
    log.outputOffsets = offsets;
    return log;
  }

  get lastSeq(): number {
    return this.seq;
  }

  append(event: NewEvent): RunEvent {
    const seq = ++this.seq;
    const full: RunEvent = { ...event, seq: BigInt(seq), time: this.now(), runId: this.runId };
    const line = Buffer.from(`${JSON.stringify(RunEvent.toJSON(full))}\n`);
    this.noteIndex(seq, this.size);
    writeSync(this.fd, line, 0, line.length, null);
    this.size += line.length;
    this.wake();
    return full;
  }

  /** No more events will come (the run is terminal); followers finish once they have read everything. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    closeSync(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Events with seq > afterSeq, in order; with `follow`, waits for new ones
   * until the log is closed or the signal aborts. The caller controls the pace:
   * nothing is read ahead of what it asks for.
   */
  async *read(afterSeq: number, follow: boolean, signal?: AbortSignal): AsyncGenerator<RunEvent> {
    let offset = this.offsetFor(afterSeq);
    let carry = "";
    const handle = await open(this.path, "r");
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    try {
      for (;;) {
        // this.size is read afresh each time: appends land while this generator is suspended in yield.
        while (offset < this.size) {
          const length = Math.min(READ_CHUNK, this.size - offset);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          offset += bytesRead;
          const lines = (carry + buffer.toString("utf8", 0, bytesRead)).split("\n");
          carry = lines.pop()!;
          for (const line of lines) {
            if (line === "") continue;
            const event = RunEvent.fromJSON(JSON.parse(line));
            if (Number(event.seq) > afterSeq) yield event;
          }
          if (signal?.aborted) return;
        }
        if (!follow || this.closed || signal?.aborted) return;
        await this.nextAppend(signal);
      }
    } finally {
      await handle.close();
    }
  }

  private offsetFor(afterSeq: number): number {
    let offset = 0;
    for (const entry of this.index) {
      if (entry.seq > afterSeq) break;
      offset = entry.offset;
    }
    return offset;
  }

  private noteIndex(seq: number, offset: number): void {
    if (seq % INDEX_EVERY === 1) this.index.push({ seq, offset });
  }

  private nextAppend(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}

function* scanLines(path: string): Generator<{ seq: number; lineOffset: number; lineLength: number; output: { stream: "stdout" | "stderr"; offset: number } | undefined }> {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    let position = 0;
    let carry = Buffer.alloc(0);
    let carryOffset = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let data = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        const line = data.toString("utf8", start, nl);
        // Only the seq is needed; a torn last line (crash mid-write) is ignored.
        const match = /^\{"seq":"?(\d+)/.exec(line);
        const output = /^[^[]{0,200}?"output":\{"stream":"(OUTPUT_STREAM_STD(?:OUT|ERR))","offset":"(\d+)"/.exec(line);
        if (match) {
          yield {
            seq: Number(match[1]),
            lineOffset: carryOffset + start,
            lineLength: nl - start + 1,
            output: output ? { stream: output[1] === "OUTPUT_STREAM_STDERR" ? ("stderr" as const) : ("stdout" as const), offset: Number(output[2]) } : undefined,
          };
        }
        start = nl + 1;
      }
      carryOffset += start;
      data = data.subarray(start);
      carry = Buffer.from(data);
    }
  } finally {
    closeSync(fd);
  }
}
