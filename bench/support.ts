import { type ResultPromise, execa } from "execa";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// dist/bench/support.js → repository root.
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const AGENT_BIN = join(ROOT, "dist", "agent", "main.js");
export const CLIENT_BIN = join(ROOT, "dist", "berth.mjs");

export interface BenchAgent {
  name: string;
  address: string;
  fingerprint: string;
  process: ResultPromise;
}

/** One token shared by every bench agent, given to them through the config (hashed, as always). */
export async function benchConfig(): Promise<{ token: string; configPath: string }> {
  const token = `berth_${randomBytes(32).toString("base64url")}`;
  const sha256 = createHash("sha256").update(token).digest("hex");
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-"));
  const configPath = join(dir, "agent.yaml");
  // Sampling only at start: the bench measures serving, not probing.
  await writeFile(configPath, `sample_period: 1h\ntokens:\n  - user: bench\n    sha256: ${sha256}\n`);
  return { token, configPath };
}

/** Starts a real berth-agent process on an ephemeral loopback port. */
export async function startBenchAgent(name: string, configPath: string, dataDirPath?: string): Promise<BenchAgent> {
  const dataDir = dataDirPath ?? (await mkdtemp(join(tmpdir(), `berth-bench-${name}-`)));
  const child = execa("node", [AGENT_BIN, "--config", configPath, "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--name", name], {
    env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
    reject: false,
    buffer: false,
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.includes('"berth-agent is serving"'));
      if (line) {
        const info = JSON.parse(line) as { listen: string; fingerprint: string };
        resolve({ name, address: info.listen, fingerprint: info.fingerprint, process: child });
      }
    });
    void child.then(() => reject(new Error(`agent ${name} exited:\n${output}`)));
  });
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function ms(value: number): string {
  return `${value.toFixed(3)} ms`;
}
