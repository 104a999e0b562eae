import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const NVIDIA_FIXTURES = join(REPO_ROOT, "test", "fixtures", "nvidia-smi");
/** The directory holding the fake nvidia-smi; put first on PATH. */
export const FAKE_BIN = join(REPO_ROOT, "test", "support", "bin");

export function fixture(name: string): string {
  return readFileSync(join(NVIDIA_FIXTURES, name), "utf8");
}

export function fixtureNames(): string[] {
  return readdirSync(NVIDIA_FIXTURES).filter((name) => name !== "SOURCES.md");
}

/**
 * One section of an nvidia_gpu_exporter capture: the lines after the section's
 * closing `####` rule, up to the first empty line (how SOURCES.md says the
 * excerpts were cut).
 */
export function captureSection(capture: string, title: string): string {
  const lines = capture.split("\n");
  const start = lines.findIndex((line) => line === `# ${title}` || line.startsWith(`# ${title} `));
  if (start < 0) throw new Error(`section ${title} not in capture`);
  let i = start + 1;
  while (!lines[i]!.startsWith("####")) i++;
  const body: string[] = [];
  for (i += 1; i < lines.length && lines[i] !== ""; i++) body.push(lines[i]!);
  return body.map((line) => `${line}\n`).join("");
}
