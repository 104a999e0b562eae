import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Laptop, laptop } from "../support/e2e.js";

describe("three agents with different fake GPU inventories (real nvidia-smi captures)", () => {
  let pc: Laptop;
  beforeAll(async () => {
    pc = await laptop();
    await pc.addAgent("a100-box", { gpuFixture: "a100-sxm4-v12" }); // 1× A100 80GB
    await pc.addAgent("a5000-box", { gpuFixture: "dual_a5000-v13" }); // 2× RTX A5000 24GB
    await pc.addAgent("l40s-box", { gpuFixture: "l40s" }); // 1× L40S 45GB
  });
  afterAll(async () => pc.cleanup());

  it("--gpu A100:40GB is placed on the only agent that fits (then fails to start here: no nvidia runtime)", async () => {
    const result = await pc.berth(["run", "ssh", "--gpu", "A100:40GB", "--image", "berth/offline:bookworm", "-d"]);
    expect(result.stdout).toMatch(/^→ a100-box: best fit: 1× 81920 MiB GPU/m);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/failed \(start_failed\): the container could not be started/);
  });

  it("--gpu 8 exits 3 with one line per agent saying why", async () => {
    const result = await pc.berth(["run", "ssh", "--gpu", "8", "-d"]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr.split("\n")).toEqual([
      "berth: no agent can take this run:",
      "  a100-box: needs 8× GPU, has 1 free",
      "  a5000-box: needs 8× GPU, has 2 free",
      "  l40s-box: needs 8× GPU, has 1 free",
    ]);
  });

  it("--agent pins the run, and a pinned agent that does not fit says why", async () => {
    const result = await pc.berth(["run", "ssh", "--gpu", "A5000:2", "--agent", "l40s-box", "-d"]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain("  l40s-box: needs 2× A5000, has 0 free");
  });
});

describe("10 concurrent `berth run --cpu 2 -d` onto 2 agents with 4 allocatable cores each", () => {
  let pc: Laptop;
  beforeAll(async () => {
    pc = await laptop();
    for (const name of ["cpu-a", "cpu-b"]) await pc.addAgent(name, { extraConfig: "allocatable:\n  cpu: 4\n" });
  });
  afterAll(async () => pc.cleanup());

  it("exactly 4 succeed and the rest exit 3", { timeout: 240_000 }, async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pc.berth(["run", "ssh", "--cpu", "2", "-d", "--name", `c${i}`, "--timeout", "10s"], 120_000)));
    const codes = results.map((r) => r.exitCode).sort();
    expect(codes, results.map((r) => r.stderr).join("\n")).toEqual([0, 0, 0, 0, 3, 3, 3, 3, 3, 3]);
    for (const failed of results.filter((r) => r.exitCode === 3)) {
      expect(failed.stderr).toMatch(/^berth: no agent can take this run:$/m);
      expect(failed.stderr).toMatch(/needs 2 cpu, has 0 free of 4/);
    }
    const ps = JSON.parse((await pc.berth(["ps", "--json"])).stdout) as { runs: { agent: string; name: string }[] };
    expect(ps.runs.filter((r) => r.agent === "cpu-a")).toHaveLength(2);
    expect(ps.runs.filter((r) => r.agent === "cpu-b")).toHaveLength(2);
    // Four CLIs wrote their Host entries at the same moment: none may be lost.
    const { readFile } = await import("node:fs/promises");
    const config = await readFile(`${pc.berthHome}/ssh/config`, "utf8");
    for (const run of ps.runs) expect(config).toContain(`Host ${run.name}\n`);
  });
});
