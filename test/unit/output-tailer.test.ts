import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputTailer } from "../../agent/runs/output-tailer.js";

async function tail(path: string, from: number, finishAfterMs = 50): Promise<{ text: string; offsets: number[] }> {
  const parts: string[] = [];
  const offsets: number[] = [];
  let finished = false;
  setTimeout(() => (finished = true), finishAfterMs);
  await new OutputTailer(path, from, (text, offset) => {
    parts.push(text);
    offsets.push(offset);
  }).run(() => finished, new AbortController().signal);
  return { text: parts.join(""), offsets };
}

describe("OutputTailer", () => {
  it("hands over whole lines with the byte offset after them, and resumes exactly from an offset", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "berth-tail-")), "stdout");
    writeFileSync(path, "one\ntwo\nthr");
    setTimeout(() => appendFileSync(path, "ee\n"), 20);
    const all = await tail(path, 0, 200);
    expect(all.text).toBe("one\ntwo\nthree\n");
    expect(all.offsets.at(-1)).toBe(14);
    expect((await tail(path, 4)).text).toBe("two\nthree\n");
  });

  it("a last line without newline still arrives once the writer is gone", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "berth-tail-")), "stdout");
    writeFileSync(path, "done\npartial");
    expect((await tail(path, 0)).text).toBe("done\npartial\n");
  });

  it("output without newlines is handed over in bounded pieces, never splitting a character", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "berth-tail-")), "stdout");
    writeFileSync(path, "é".repeat(100_000));
    const { text } = await tail(path, 0);
    const pieces = text.split("\n").filter(Boolean);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join("")).toBe("é".repeat(100_000));
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(128 * 1024);
  });
});
