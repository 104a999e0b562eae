/**
 * StartRun → first successful ssh login (offline image, no setup), against a
 * bare `docker run` of the same image that starts sshd and is polled with ssh
 * until a login works. Both run in this one process, alternating, 7 times each.
 * Target: berth ≤ 1.3× the baseline.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bareSshdLogin, keypair, pollSsh, startRunBenchAgent, startRunCall, untilReady } from "./run-support.js";
import { median } from "./support.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);

async function main(): Promise<void> {
  const agent = await startRunBenchAgent();
  const key = await keypair();
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-kh-"));

  const berthTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // berth: StartRun, wait for ready (port + pinned host key), then ssh with StrictHostKeyChecking=yes.
    {
      const started = performance.now();
      const call = startRunCall(agent.connection, { authorizedKeys: [key.publicKey] });
      const { ready, runId } = await untilReady(call);
      const knownHosts = join(dir, `berth-${round}`);
      await writeFile(knownHosts, `[127.0.0.1]:${ready.sshPort} ${ready.hostPublicKey}\n`);
      await pollSsh(ready.sshPort, key.privateKey, ["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes"]);
      berthTimes.push(performance.now() - started);
      call.cancel();
      await new Promise<void>((resolve, reject) =>
        agent.connection.client.stopRun({ run: runId, timeoutSeconds: 2, abort: true }, agent.connection.metadata, (error) => (error ? reject(error) : resolve())),
      );
    }
    bareTimes.push(await bareSshdLogin(key));
  }
  const berth = median(berthTimes);
  const bare = median(bareTimes);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  console.log(`StartRun → first ssh login (ms): ${fmt(berthTimes)}`);
  console.log(`bare docker run + sshd → first ssh login (ms): ${fmt(bareTimes)}`);
  console.log(`median berth ${berth.toFixed(0)} ms, bare ${bare.toFixed(0)} ms, ratio ${(berth / bare).toFixed(2)}× — ${berth / bare <= 1.3 ? "meets" : "MISSES"} target ≤ 1.3×`);

  agent.process.kill("SIGTERM");
  await agent.process;
}

await main();
