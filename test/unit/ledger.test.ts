import { describe, expect, it } from "vitest";
import { type Capacity, Ledger } from "../../agent/ledger/ledger.js";

const MiB = 1024 * 1024;
const capacity: Capacity = {
  allocatableCores: 8,
  allocatableMemoryBytes: 32 * 1024 * MiB,
  interruptible: false,
  gpus: [
    { uuid: "GPU-big", name: "NVIDIA A100-SXM4-80GB", memoryMibTotal: 81920, migEnabled: false },
    { uuid: "GPU-small-1", name: "NVIDIA A100-PCIE-40GB", memoryMibTotal: 40960, migEnabled: false },
    { uuid: "GPU-small-2", name: "NVIDIA A100-PCIE-40GB", memoryMibTotal: 40960, migEnabled: false },
    { uuid: "GPU-mig", name: "NVIDIA H100 80GB HBM3", memoryMibTotal: 81559, migEnabled: true },
  ],
};
const none = { count: 0, memory: {} };

describe("Ledger", () => {
  it("reserves the smallest GPUs that fit, and reports them", () => {
    const ledger = new Ledger();
    const r = ledger.reserve("run-a", { cpu: 2, memoryBytes: 4096 * MiB, gpu: { count: 1, name: "a100", memory: { min: 30 * 1024 * MiB } }, interruptible: false }, capacity);
    expect(r).toEqual({ runId: "run-a", gpuUuids: ["GPU-small-1"], cpu: 2, memoryBytes: 4096 * MiB });
    expect([ledger.cores(), ledger.memoryBytes(), ledger.gpuHolder("GPU-small-1"), ledger.activeRuns()]).toEqual([2, 4096 * MiB, "run-a", 1]);
  });

  it("is all or nothing: a request that does not fit changes nothing and says every reason", () => {
    const ledger = new Ledger();
    ledger.reserve("run-a", { cpu: 6, memoryBytes: 0, gpu: { count: 2, name: "A100", memory: { min: 40 * 1024 * MiB } }, interruptible: false }, capacity);
    expect(() =>
      ledger.reserve("run-b", { cpu: 4, memoryBytes: 64 * 1024 * MiB, gpu: { count: 2, name: "A100", memory: { min: 40 * 1024 * MiB } }, interruptible: false }, capacity),
    ).toThrow("needs 4 cpu, has 2 free of 8; needs 64GB memory, has 32GB free; needs 2× A100 ≥40GB, has 1 free (2 allocated to run-a)");
    expect(ledger.activeRuns()).toBe(1);
    expect(ledger.cores()).toBe(6);
  });

  it("hands out a MIG-enabled GPU whole (the run gets all its slices)", () => {
    const ledger = new Ledger();
    expect(ledger.reserve("r", { cpu: 0, memoryBytes: 0, gpu: { count: 1, name: "H100", memory: {} }, interruptible: false }, capacity).gpuUuids).toEqual(["GPU-mig"]);
  });

  it("keeps non-interruptible runs off interruptible agents", () => {
    const ledger = new Ledger();
    const spot = { ...capacity, interruptible: true };
    expect(() => ledger.reserve("r", { cpu: 0, memoryBytes: 0, gpu: none, interruptible: false }, spot)).toThrow(/agent is interruptible/);
    expect(ledger.reserve("r", { cpu: 0, memoryBytes: 0, gpu: none, interruptible: true }, spot).runId).toBe("r");
  });

  it("release and restore", () => {
    const ledger = new Ledger();
    ledger.reserve("r", { cpu: 1, memoryBytes: 0, gpu: { count: 1, memory: {} }, interruptible: false }, capacity);
    ledger.release("r");
    expect(ledger.activeRuns()).toBe(0);
    ledger.restore({ runId: "x", gpuUuids: ["GPU-big"], cpu: 3, memoryBytes: 5 });
    expect([ledger.gpuHolder("GPU-big"), ledger.cores()]).toEqual(["x", 3]);
  });
});
