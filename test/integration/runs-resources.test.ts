import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { RunState } from "../../shared/gen/berth/v1/run.js";
import {
  type RunAgent,
  dockerInspect,
  getRun,
  keypair,
  removeAgentContainers,
  requireRunImage,
  spec,
  sshRun,
  startRun,
  startRunAgent,
  stopRun,
  unary,
  waitForState,
} from "../support/runs.js";

const agents: RunAgent[] = [];
afterAll(async () => {
  for (const agent of agents) {
    await agent.stop().catch(() => undefined);
    await removeAgentContainers(agent.name);
  }
});

async function runAgent(options: Parameters<typeof startRunAgent>[0] = {}): Promise<RunAgent> {
  await requireRunImage();
  const agent = await startRunAgent(options);
  agents.push(agent);
  return agent;
}

function inventory(agent: RunAgent): Promise<Inventory> {
  return unary((cb) => agent.connection.client.getInventory({ refresh: false }, agent.connection.metadata, cb));
}

describe("GPU runs against a fake-GPU inventory (two RTX A5000 from a real nvidia-smi capture)", () => {
  it("reserve real UUIDs, ask Docker for exactly them, fail clearly without an nvidia runtime, and release the GPUs", async () => {
    const agent = await runAgent({ gpuFixture: "dual_a5000-v13" });
    const fixtureUuids = ["GPU-12345678-aaaa-bbbb-cccc-0123456789ab", "GPU-12345678-aaaa-bbbb-cccc-0123456789cd"];
    expect((await inventory(agent)).gpus.map((g) => g.uuid)).toEqual(fixtureUuids);

    const started = await startRun(agent.connection, spec({ resources: { gpu: { count: 1, name: "a5000", memory: "20GB" } } as never }));
    expect(started.terminal).toMatchObject({ state: RunState.RUN_STATE_FAILED, reason: "start_failed" });
    expect(started.terminal!.message).toMatch(/^the container could not be started: .*(nvidia|device driver)/i);

    const run = await getRun(agent.connection, started.runId);
    expect(run.gpuUuids).toHaveLength(1);
    expect(fixtureUuids).toContain(run.gpuUuids[0]);
    // The failed container is kept for post-mortem: it shows what was asked of Docker.
    const info = await dockerInspect(run.containerId);
    expect(info.HostConfig.DeviceRequests).toEqual([
      { Driver: "nvidia", Count: 0, DeviceIDs: run.gpuUuids, Capabilities: [["gpu", "utility", "compute"]], Options: null },
    ]);
    expect(info.State.Running).toBe(false);

    const after = await inventory(agent);
    expect(after.gpus.map((g) => g.allocatedRunId)).toEqual(["", ""]);
    expect(after.activeRuns).toBe(0);
  });

  it("a GPU the agent does not have is RESOURCE_EXHAUSTED saying what is missing", async () => {
    const agent = await runAgent({ gpuFixture: "dual_a5000-v13" });
    const error = await startRun(agent.connection, spec({ resources: { gpu: { count: 1, name: "A100", memory: "40GB" } } as never })).then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
    expect(error?.code).toBe(8);
    expect(error!.details).toBe("needs 1× A100 ≥40GB, has 0 free");
  });

  it("two concurrent StartRuns for the last free GPU: exactly one wins", async () => {
    const agent = await runAgent({ gpuFixture: "l40s" });
    const attempts = await Promise.allSettled([
      startRun(agent.connection, spec({ resources: { gpu: { count: 1 } } as never })),
      startRun(agent.connection, spec({ resources: { gpu: { count: 1 } } as never })),
    ]);
    const won = attempts.filter((a) => a.status === "fulfilled");
    const lost = attempts.filter((a) => a.status === "rejected") as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason.code).toBe(8);
    expect(lost[0]!.reason.details).toMatch(/^needs 1× GPU, has 0 free \(1 allocated to run-[0-9a-f]+\)$/);
  });
});

describe("the last cpu", () => {
  it("two concurrent StartRuns for all the cores: exactly one wins, and it really runs", async () => {
    const agent = await runAgent();
    const key = await keypair();
    const cores = (await inventory(agent)).cpu!.allocatableCores;
    const ask = spec({ resources: { cpu: cores } as never, authorizedKeys: [key.publicKey] });
    const attempts = await Promise.allSettled([startRun(agent.connection, ask), startRun(agent.connection, ask)]);
    const won = attempts.filter((a) => a.status === "fulfilled") as PromiseFulfilledResult<Awaited<ReturnType<typeof startRun>>>[];
    expect(won).toHaveLength(1);
    const lost = attempts.find((a) => a.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason.details).toBe(`needs ${cores} cpu, has 0 free of ${cores}`);
    expect(won[0]!.value.ready).toBeDefined();
    await stopRun(agent.connection, won[0]!.value.runId);
  });
});

describe("recovery after kill -9 of the agent", () => {
  it("a live run comes back running, still reachable by ssh and still holding its cpu; a vanished one is failed (lost) and released", async () => {
    const agent = await runAgent({ extraConfig: "reserved:\n  cpu: 0\n" });
    const key = await keypair();
    const kept = await startRun(agent.connection, spec({ name: "survivor", resources: { cpu: 1, memory: "128MB" } as never, authorizedKeys: [key.publicKey], setup: ["echo up"] }));
    const doomed = await startRun(agent.connection, spec({ name: "doomed", resources: { cpu: 0.5 } as never, authorizedKeys: [key.publicKey] }));
    expect(kept.ready && doomed.ready).toBeDefined();
    const doomedRun = await getRun(agent.connection, doomed.runId);

    agent.process.kill("SIGKILL");
    await agent.process;
    await execa("docker", ["rm", "-f", doomedRun.containerId]);

    const restarted = await startRunAgent({ dataDir: agent.dataDir, name: agent.name });
    agents.push(restarted);
    const survivor = await getRun(restarted.connection, "survivor");
    expect(survivor.state).toBe(RunState.RUN_STATE_RUNNING);
    expect(survivor.ready!.sshPort).toBe(kept.ready!.sshPort);
    const login = await sshRun(survivor.ready!, key.privateKey, "echo still-here; pwd");
    expect(login.stdout).toBe("still-here\n/workflow");

    const lost = await getRun(restarted.connection, doomed.runId);
    expect(lost).toMatchObject({ state: RunState.RUN_STATE_FAILED, reason: "lost" });

    const inv = await inventory(restarted);
    expect(inv.cpu!.allocatedCores).toBe(1);
    expect(inv.memory!.bytesAllocated).toBe(128n * 1024n * 1024n);
    expect(inv.activeRuns).toBe(1);

    // The event log continues without a gap after the restart.
    const stopped = await stopRun(restarted.connection, "survivor");
    expect(stopped.state).toBe(RunState.RUN_STATE_STOPPED);
    await waitForState(restarted.connection, "survivor", RunState.RUN_STATE_STOPPED);
    const events = await new Promise<bigint[]>((resolve, reject) => {
      const seqs: bigint[] = [];
      const call = restarted.connection.client.watchRun({ run: "survivor", afterSeq: 0n, follow: false }, restarted.connection.metadata);
      call.on("data", (e: { seq: bigint }) => seqs.push(e.seq));
      call.on("end", () => resolve(seqs));
      call.on("error", reject);
    });
    expect(events.map(Number)).toEqual(events.map((_, i) => i + 1));
    expect((await inventory(restarted)).cpu!.allocatedCores).toBe(0);
  });
});

describe("labelled containers that no run knows", () => {
  it("are removed after the grace period (not adopted: without the run folder there is no spec or event log)", async () => {
    const name = `orph${Math.random().toString(36).slice(2, 7)}`;
    const orphan = await execa("docker", [
      "run", "-d", "--network", "none", "--label", "berth.managed=true", "--label", `berth.agent=${name}`, "--label", "berth.run-id=run-nobody",
      "berth/offline:bookworm", "sleep", "600",
    ]);
    const id = String(orphan.stdout).trim();
    await runAgent({ name, extraConfig: "orphan_grace: 1s\n" });
    const deadline = Date.now() + 15_000;
    let exists = true;
    while (exists && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      exists = (await execa("docker", ["inspect", id], { reject: false })).exitCode === 0;
    }
    expect(exists).toBe(false);
  });
});
