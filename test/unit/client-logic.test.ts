import { describe, expect, it } from "vitest";
import { rankAgents } from "../../client/scheduler/rank.js";
import { hostBlock, removeHost, upsertHost, withInclude } from "../../client/ssh/config-text.js";
import { applyFlags, validateWithFlags } from "../../client/workflow/flags.js";
import { workflowFromYaml } from "../../client/workflow/file.js";
import { parseGpuFlag } from "../../client/workflow/gpu-flag.js";
import { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { RunSpec } from "../../shared/gen/berth/v1/run.js";

const GiB = 1024 ** 3;
function inventory(name: string, gpus: [string, number, string?][], opts: { interruptible?: boolean; cores?: number } = {}): { name: string; inventory: Inventory } {
  return {
    name,
    inventory: Inventory.fromPartial({
      agent: { name, interruptible: opts.interruptible ?? false },
      cpu: { cores: opts.cores ?? 16, allocatableCores: opts.cores ?? 16, allocatedCores: 0 },
      memory: { bytesTotal: BigInt(64 * GiB), bytesAllocatable: BigInt(64 * GiB), bytesAllocated: 0n },
      gpus: gpus.map(([gpuName, mib, holder], i) => ({ index: i, uuid: `${name}-gpu${i}`, name: gpuName, memoryMibTotal: mib, allocatedRunId: holder ?? "" })),
    }),
  };
}
const noGpu = { count: 0, memory: {} };

describe("rankAgents", () => {
  const fleet = [
    inventory("big", [["NVIDIA A100-SXM4-80GB", 81920], ["NVIDIA A100-SXM4-80GB", 81920]]),
    inventory("small", [["NVIDIA A100-PCIE-40GB", 40960]]),
    inventory("busy", [["NVIDIA A100-PCIE-40GB", 40960, "run-a"]]),
    inventory("cpu-only", []),
  ];

  it("keeps only agents that fit, smallest sufficient GPU memory first, and says why the others do not", () => {
    const ranking = rankAgents({ cpu: 1, memoryBytes: 0, gpu: { count: 1, name: "A100", memory: { min: 40 * GiB } }, interruptible: false }, fleet, () => 0);
    expect(ranking.candidates.map((c) => c.agent)).toEqual(["small", "big"]);
    expect(ranking.rejected).toEqual([
      { agent: "busy", reason: "needs 1× A100 ≥40GB, has 0 free (1 allocated to run-a)" },
      { agent: "cpu-only", reason: "needs 1× A100 ≥40GB, has 0 free" },
    ]);
  });

  it("a CPU-only run goes where it leaves the fewest GPUs idle", () => {
    const ranking = rankAgents({ cpu: 1, memoryBytes: 0, gpu: noGpu, interruptible: false }, fleet, () => 0);
    // busy and cpu-only leave 0 idle GPUs (tie kept in order by the fixed random), small 1, big 2.
    expect(ranking.candidates.map((c) => c.agent)).toEqual(["busy", "cpu-only", "small", "big"]);
    expect(ranking.rejected).toEqual([]);
  });

  it("never puts a non-interruptible run on an interruptible agent; an interruptible run prefers them", () => {
    const agents = [inventory("spot", [], { interruptible: true }), inventory("steady", [])];
    expect(rankAgents({ cpu: 0, memoryBytes: 0, gpu: noGpu, interruptible: false }, agents).candidates.map((c) => c.agent)).toEqual(["steady"]);
    expect(rankAgents({ cpu: 0, memoryBytes: 0, gpu: noGpu, interruptible: true }, agents).candidates.map((c) => c.agent)).toEqual(["spot", "steady"]);
  });

  it("breaks exact ties at random", () => {
    const twins = [inventory("a", []), inventory("b", [])];
    const first = new Set<string>();
    let toggle = 0;
    for (let i = 0; i < 4; i++) first.add(rankAgents({ cpu: 0, memoryBytes: 0, gpu: noGpu, interruptible: false }, twins, () => (toggle++ % 3) / 3).candidates[0]!.agent);
    expect(first).toEqual(new Set(["a", "b"]));
  });
});

describe("ssh config text", () => {
  const entry = { alias: "r1", hostName: "10.0.0.5", port: 32768, user: "root", identityFile: "/h/.berth/ssh/id_ed25519", knownHostsFile: "/h/.berth/ssh/known_hosts.d/r1", controlPath: "/h/.berth/ssh/cm-%C" };

  it("adds, replaces and removes one run's block, leaving the rest", () => {
    const other = "# mine\nHost x\n  User y\n";
    const once = upsertHost(other, entry);
    expect(once).toBe(other + hostBlock(entry));
    expect(upsertHost(once, { ...entry, port: 1 })).toBe(other + hostBlock({ ...entry, port: 1 }));
    expect(removeHost(once, "r1")).toBe(other);
    expect(hostBlock(entry)).toContain("  StrictHostKeyChecking yes\n");
  });

  it("puts the Include line first and keeps every other byte", () => {
    const mine = "Host *\n\tServerAliveInterval 5\n# no newline";
    expect(withInclude(mine, "/h/.berth/ssh/config")).toBe(`Include /h/.berth/ssh/config\n${mine}`);
    const twice = withInclude(withInclude(mine, "/h/.berth/ssh/config"), "/h/.berth/ssh/config");
    expect(twice).toBe(`Include /h/.berth/ssh/config\n${mine}`);
    expect(withInclude("", "/p")).toBe("Include /p\n");
  });
});

describe("--gpu", () => {
  it.each([
    ["1", { count: 1, name: "", memory: "" }],
    ["A100", { count: 0, name: "A100", memory: "" }],
    ["A100:40GB", { count: 0, name: "A100", memory: "40GB" }],
    ["A100:40GB:2", { count: 2, name: "A100", memory: "40GB" }],
    ["A100:2", { count: 2, name: "A100", memory: "" }],
    ["h100:80GB..", { count: 0, name: "h100", memory: "80GB.." }],
  ])("%s", (flag, parsed) => expect(parseGpuFlag(flag, "--gpu")).toEqual(parsed));
  it.each(["", ":40GB", "A100:x", "A100:40GB:2:3"])("%j is refused", (flag) => expect(() => parseGpuFlag(flag, "--gpu")).toThrow(/^--gpu: expected/));
});

describe("workflow file and flags", () => {
  const file = [
    "workflows:",
    "  - name: train",
    "    provider: ssh",
    "    python: 3.10",
    "    env:",
    "      A: 1",
    "      B: two",
    "    ports: [6006, \"8080:9090\"]",
    "    resources:",
    "      gpu: A100:40GB:2",
    "      memory: 16GB",
    "    artifacts: [checkpoints]",
    "    cache:",
    "      - path: ~/.cache/pip",
    "",
  ].join("\n");

  it("reads the dstack 0.x shape, keeping `python: 3.10` as written", () => {
    const spec = workflowFromYaml(file, "w.yaml", "train");
    expect(spec).toMatchObject({
      name: "train",
      python: "3.10",
      env: ["A=1", "B=two"],
      ports: ["6006", "8080:9090"],
      resources: { memory: "16GB", gpu: { count: 2, name: "A100", memory: "40GB" } },
      artifacts: [{ path: "checkpoints", mount: false }],
      cache: [{ path: "~/.cache/pip" }],
    });
  });

  it("names the line of a bad field and a workflow that is not there", () => {
    expect(() => workflowFromYaml(file.replace("memory: 16GB", "memory: big"), "w.yaml", "train")).toThrow(
      'w.yaml:11: workflows[0].resources.memory: expected a size such as "512MB", "16GB" or "1.5TB", got "big"',
    );
    expect(() => workflowFromYaml(file, "w.yaml", "serve")).toThrow('w.yaml: no workflow named "serve"; the file has train');
    expect(() => workflowFromYaml(file.replace("provider: ssh", "provider: bash"), "w.yaml", "train")).toThrow("w.yaml:3: workflows[0].provider: expected \"ssh\"");
  });

  it("flags override the file: scalars replace, lists replace, env merges by key", () => {
    const base = workflowFromYaml(file, "w.yaml", "train");
    const spec = applyFlags(base, { port: ["7000"], env: ["B=three", "C=4"], setup: [], cache: [], artifact: ["out:mount"], gpu: "2", memory: "32GB", python: "3.12" });
    expect(spec).toMatchObject({ python: "3.12", ports: ["7000"], env: ["A=1", "B=three", "C=4"], artifacts: [{ path: "out", mount: true }] });
    expect(spec.resources).toMatchObject({ memory: "32GB", gpu: { count: 2, name: "", memory: "" } });
    expect(() => validateWithFlags(applyFlags(RunSpec.create(), { port: ["0"], env: [], setup: [], cache: [], artifact: [] }))).toThrow(/^--port: expected/);
  });
});
