/**
 * The CLI as a user times it, against a real agent:
 * - `berth run ssh -d` from CLI start to ready printed (offline image, no setup), against the bare
 *   docker run + sshd baseline (started, then polled with ssh until a login works), alternating, 7 each.
 *   Target: ≤ 1.5× the baseline.
 * - `berth --help` and `berth ps` wall time, median of 10. Target: ≤ 300 ms each.
 */
import { execa } from "execa";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveFleet } from "../client/fleet/store.js";
import { bareSshdLogin, keypair, startRunBenchAgent } from "./run-support.js";
import { CLIENT_BIN, median } from "./support.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);

async function timed(command: string[], env: Record<string, string>, cwd?: string): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const result = await execa(command[0]!, command.slice(1), { env, ...(cwd ? { cwd } : {}) });
  return { ms: performance.now() - started, stdout: String(result.stdout) };
}

async function main(): Promise<void> {
  const agent = await startRunBenchAgent();
  const home = await mkdtemp(join(tmpdir(), "berth-bench-cli-"));
  const berthHome = join(home, ".berth");
  const project = join(home, "project");
  await mkdir(project);
  const token = (await readFile(join(agent.dataDir, "local.token"), "utf8")).trim();
  await saveFleet(berthHome, [{ name: agent.name, address: agent.address, token, fingerprint: agent.fingerprint }]);
  const env = { HOME: home, BERTH_HOME: berthHome, PATH: process.env["PATH"] ?? "" };
  const key = await keypair();

  // Warm-up: the first run creates the client key and caches the agent's certificate.
  const warm = await timed(["node", CLIENT_BIN, "run", "ssh", "-d", "--name", "warmup"], env, project);
  void warm;
  await execa("node", [CLIENT_BIN, "stop", "warmup", "--abort"], { env });

  const berthTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const run = await timed(["node", CLIENT_BIN, "run", "ssh", "-d", "--name", `bench-${round}`], env, project);
    if (!run.stdout.includes(`bench-${round} is ready`)) throw new Error(run.stdout);
    berthTimes.push(run.ms);
    await execa("node", [CLIENT_BIN, "stop", `bench-${round}`, "--abort"], { env });

    bareTimes.push(await bareSshdLogin(key));
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const ratio = median(berthTimes) / median(bareTimes);
  console.log(`berth run ssh -d, CLI start → ready printed (ms): ${fmt(berthTimes)}`);
  console.log(`bare docker run + sshd → first ssh login (ms): ${fmt(bareTimes)}`);
  console.log(`median berth ${median(berthTimes).toFixed(0)} ms, bare ${median(bareTimes).toFixed(0)} ms, ratio ${ratio.toFixed(2)}× — ${ratio <= 1.5 ? "meets" : "MISSES"} target ≤ 1.5×`);

  for (const [label, args] of [
    ["berth --help", ["--help"]],
    ["berth ps", ["ps"]],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) times.push((await timed(["node", CLIENT_BIN, ...args], env)).ms);
    const m = median(times);
    console.log(`${label}: median ${m.toFixed(0)} ms over 10 (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}) — ${m <= 300 ? "meets" : "MISSES"} ≤ 300 ms`);
  }

  agent.process.kill("SIGTERM");
  await agent.process;
}

await main();
