/**
 * GetInventory served from the sampler's cache, over TLS on loopback, against
 * a real berth-agent process: 10,000 sequential calls, then 10,000 calls from
 * 100 concurrent callers (closed loop, then paced). Target: p50 ≤ 1 ms, p99 ≤ 5 ms.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectAgent } from "../client/fleet/connect.js";
import { benchConfig, ms, percentile, startBenchAgent } from "./support.js";

const CALLS = 10_000;
const CALLERS = 100;

async function main(): Promise<void> {
  const { token, configPath } = await benchConfig();
  const agent = await startBenchAgent("latency", configPath);
  const home = await mkdtemp(join(tmpdir(), "berth-bench-home-"));
  const connection = await connectAgent(
    { name: agent.name, address: agent.address, token, fingerprint: agent.fingerprint },
    home,
    new Date(Date.now() + 10_000),
  );
  const call = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      connection.client.getInventory({ refresh: false }, connection.metadata, (error) => {
        if (error) reject(error);
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });

  for (let i = 0; i < 500; i++) await call(); // warm-up: TLS session, JIT

  const sequential: number[] = [];
  for (let i = 0; i < CALLS; i++) sequential.push(await call());
  report(`sequential (${CALLS} calls)`, sequential);

  const concurrent: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < CALLS / CALLERS; i++) concurrent.push(await call());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  report(`${CALLERS} concurrent callers, closed loop (${CALLS} calls, saturated at ${(CALLS / seconds).toFixed(0)} calls/s)`, concurrent);

  // Closed-loop callers measure queueing once the two cores saturate (Little's law: latency = in-flight / throughput).
  // Paced callers measure what a caller sees while 100 others are active but the agent is not saturated.
  const RATE_PER_CALLER = 10;
  const paced: number[] = [];
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      await sleep((caller * 1000) / RATE_PER_CALLER / CALLERS);
      for (let i = 0; i < CALLS / CALLERS; i++) {
        const next = performance.now() + 1000 / RATE_PER_CALLER;
        paced.push(await call());
        await sleep(Math.max(0, next - performance.now()));
      }
    }),
  );
  report(`${CALLERS} concurrent callers paced at ${RATE_PER_CALLER} calls/s each (${CALLS} calls)`, paced);

  connection.close();
  agent.process.kill("SIGTERM");
  await agent.process;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function report(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const verdict = p50 <= 1 && p99 <= 5 ? "meets" : "MISSES";
  console.log(`GetInventory ${label}: p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(sorted[sorted.length - 1]!)} — ${verdict} target p50 ≤ 1 ms, p99 ≤ 5 ms`);
}

await main();
