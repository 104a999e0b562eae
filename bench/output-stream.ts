/**
 * A setup that prints 100 MB streams to a client: throughput seen by the
 * client (bytes of output text / time from first to last output byte), and
 * the agent's RSS growth, once with a client reading as fast as it can and
 * once with a client that stops reading for 5 s (backpressure must hold the
 * data on disk, not in agent memory). Target: ≥ 50 MB/s, RSS growth ≤ 64 MB.
 */
import type { RunEvent } from "../shared/gen/berth/v1/run.js";
import { rssKb, startRunBenchAgent, startRunCall } from "./run-support.js";

const MB = 1024 * 1024;
const TOTAL_MB = Number(process.env["BENCH_OUTPUT_MB"] ?? 100);
// 100-byte lines, written by python in large blocks so the producer is not the bottleneck.
const SETUP = `python3 -c "import sys; b=('x'*99+'\\\\n')*10000; [sys.stdout.write(b) for _ in range(${TOTAL_MB * MB} // len(b))]; sys.stdout.flush()"`;

async function measure(agentPid: number, connection: Awaited<ReturnType<typeof startRunBenchAgent>>["connection"], pauseMs: number): Promise<void> {
  const baseline = await rssKb(agentPid);
  let peak = baseline;
  const sampler = setInterval(() => {
    void rssKb(agentPid).then((kb) => (peak = Math.max(peak, kb)));
  }, 50);
  const call = startRunCall(connection, { setup: [SETUP] });
  let bytes = 0;
  let first = 0;
  let last = 0;
  let runId = "";
  if (pauseMs > 0) {
    call.pause();
    setTimeout(() => call.resume(), pauseMs);
  }
  await new Promise<void>((resolve, reject) => {
    call.on("data", (event: RunEvent) => {
      runId = event.runId;
      if (event.event?.$case === "output") {
        if (first === 0) first = performance.now();
        bytes += Buffer.byteLength(event.event.value.text);
        last = performance.now();
      }
      if (event.event?.$case === "ready") resolve();
      if (event.event?.$case === "state" && event.event.value.reason) reject(new Error(event.event.value.message));
    });
    call.on("error", (error: { code?: number }) => (error.code === 1 ? undefined : reject(error as Error)));
  });
  clearInterval(sampler);
  call.cancel();
  const seconds = (last - first) / 1000;
  const rate = bytes / MB / seconds;
  const growth = (peak - baseline) / 1024;
  const label = pauseMs > 0 ? `reader paused ${pauseMs / 1000} s` : "reader at full speed";
  console.log(
    `${label}: ${(bytes / MB).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${rate.toFixed(1)} MB/s; agent RSS ${(baseline / 1024).toFixed(0)} → peak ${(peak / 1024).toFixed(0)} MB (+${growth.toFixed(1)} MB)` +
      (pauseMs > 0 ? "" : ` — ${rate >= 50 ? "meets" : "MISSES"} ≥ 50 MB/s`) +
      `, ${growth <= 64 ? "meets" : "MISSES"} RSS growth ≤ 64 MB`,
  );
  await new Promise<void>((resolve) => connection.client.stopRun({ run: runId, timeoutSeconds: 2, abort: true }, connection.metadata, () => resolve()));
}

async function main(): Promise<void> {
  const agent = await startRunBenchAgent();
  const pid = agent.process.pid!;
  await measure(pid, agent.connection, 0);
  await measure(pid, agent.connection, 5000);
  agent.process.kill("SIGTERM");
  await agent.process;
}

await main();
