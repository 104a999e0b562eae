/**
 * `berth fleet ls --json` (the real CLI process) over 100 real berth-agent
 * processes on loopback, against the same command over 1 agent.
 * Target: 100 agents take ≤ 1.5× the time of 1.
 */
import { execa } from "execa";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveFleet } from "../client/fleet/store.js";
import { type BenchAgent, CLIENT_BIN, benchConfig, median, startBenchAgent } from "./support.js";

const AGENTS = Number(process.env["BENCH_AGENTS"] ?? 100);
const RUNS = 10;
const START_BATCH = 10;

async function timeFleetLs(home: string, expected: number): Promise<number> {
  const started = performance.now();
  const result = await execa("node", [CLIENT_BIN, "fleet", "ls", "--json"], { env: { BERTH_HOME: home } });
  const elapsed = performance.now() - started;
  const doc = JSON.parse(String(result.stdout)) as { agents: { status: string }[] };
  const ok = doc.agents.filter((a) => a.status === "ok").length;
  if (ok !== expected) throw new Error(`expected ${expected} agents ok, got ${ok}`);
  return elapsed;
}

async function main(): Promise<void> {
  const { token, configPath } = await benchConfig();
  const agents: BenchAgent[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < AGENTS; i += START_BATCH) {
    const batch = Array.from({ length: Math.min(START_BATCH, AGENTS - i) }, (_, j) => startBenchAgent(`agent-${i + j}`, configPath));
    agents.push(...(await Promise.all(batch)));
  }
  console.log(`started ${agents.length} agent processes in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);

  const entries = agents.map((a) => ({ name: a.name, address: a.address, token, fingerprint: a.fingerprint }));
  const oneHome = await mkdtemp(join(tmpdir(), "berth-bench-one-"));
  const allHome = await mkdtemp(join(tmpdir(), "berth-bench-all-"));
  await saveFleet(oneHome, entries.slice(0, 1));
  await saveFleet(allHome, entries);
  // First runs fetch and cache each agent's pinned certificate; measure the steady state.
  await timeFleetLs(oneHome, 1);
  await timeFleetLs(allHome, AGENTS);

  const one: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    one.push(await timeFleetLs(oneHome, 1));
    all.push(await timeFleetLs(allHome, AGENTS));
  }
  const ratio = median(all) / median(one);
  console.log(`berth fleet ls --json, median of ${RUNS}: 1 agent ${median(one).toFixed(0)} ms, ${AGENTS} agents ${median(all).toFixed(0)} ms`);
  console.log(`ratio ${ratio.toFixed(2)}× — ${ratio <= 1.5 ? "meets" : "MISSES"} target ≤ 1.5×`);

  for (const agent of agents) agent.process.kill("SIGTERM");
  await Promise.all(agents.map((a) => a.process));
}

await main();
