import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EventLog } from "../../agent/runs/event-log.js";
import { OutputStream } from "../../shared/gen/berth/v1/run.js";

async function collect(log: EventLog, after: number): Promise<number[]> {
  const seqs: number[] = [];
  for await (const event of log.read(after, false)) seqs.push(Number(event.seq));
  return seqs;
}

describe("EventLog", () => {
  it("numbers events from 1, persists them, and resumes after any seq", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "berth-log-")), "events.jsonl");
    const log = EventLog.create(path, "run-1");
    for (let i = 0; i < 300; i++) {
      const stream = i % 2 ? OutputStream.OUTPUT_STREAM_STDERR : OutputStream.OUTPUT_STREAM_STDOUT;
      log.append({ event: { $case: "output", value: { stream, text: `line ${i}\n`, offset: BigInt(i * 10) } } });
    }
    expect(await collect(log, 0)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(await collect(log, 200)).toEqual(Array.from({ length: 100 }, (_, i) => i + 201));
    log.close();

    const reopened = EventLog.reopen(path, "run-1");
    expect(reopened.lastSeq).toBe(300);
    // The read offsets of both output streams come back from the last Output events.
    expect(reopened.outputOffsets).toEqual({ stdout: 2980, stderr: 2990 });
    expect(Number(reopened.append({ event: undefined }).seq)).toBe(301);
    expect(await collect(reopened, 299)).toEqual([300, 301]);
  });

  it("a follower gets live events and ends when the log closes", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "berth-log-")), "events.jsonl");
    const log = EventLog.create(path, "run-1");
    log.append({ event: undefined });
    const seen: number[] = [];
    const following = (async () => {
      for await (const event of log.read(0, true)) seen.push(Number(event.seq));
    })();
    await new Promise((r) => setTimeout(r, 20));
    log.append({ event: undefined });
    log.append({ event: undefined });
    log.close();
    await following;
    expect(seen).toEqual([1, 2, 3]);
  });
});
