import { formatSize } from "../sizes.js";
import { type GpuCandidate, type GpuRequirement, describeGpuRequirement, gpuFits } from "./gpu-match.js";

export interface FitRequest {
  cpu: number;
  memoryBytes: number;
  gpu: GpuRequirement;
  interruptible: boolean;
}

/** One agent's resources as its inventory (client) or ledger (agent) sees them. */
export interface FitCapacity {
  interruptible: boolean;
  allocatableCores: number;
  allocatedCores: number;
  allocatableMemoryBytes: number;
  allocatedMemoryBytes: number;
  gpus: GpuCandidate[];
}

export type Fit =
  | { fits: true; gpuUuids: string[]; gpuMemoryMib: number; idleGpusAfter: number; freeCoresAfter: number; freeMemoryAfter: number }
  | { fits: false; missing: string[] };

/**
 * Whether a run fits an agent, and if not every reason why, in words a person
 * reads: "needs 1× A100 ≥40GB, has 0 free (2 allocated to run-a, run-b)". The
 * agent's ledger decides with it and the client's scheduler ranks with it, so
 * both say the same thing. GPUs picked are the smallest that satisfy.
 */
export function checkFit(request: FitRequest, capacity: FitCapacity): Fit {
  const missing: string[] = [];
  if (capacity.interruptible && !request.interruptible) {
    missing.push("this agent is interruptible and the run is not (set resources.interruptible to place it here)");
  }
  const freeCores = capacity.allocatableCores - capacity.allocatedCores;
  if (request.cpu > freeCores + 1e-9) missing.push(`needs ${formatCores(request.cpu)} cpu, has ${formatCores(Math.max(0, freeCores))} free of ${formatCores(capacity.allocatableCores)}`);
  const freeMemory = capacity.allocatableMemoryBytes - capacity.allocatedMemoryBytes;
  if (request.memoryBytes > freeMemory) {
    missing.push(`needs ${formatSize(request.memoryBytes)} memory, has ${formatSize(Math.max(0, freeMemory))} free`);
  }
  let chosen: GpuCandidate[] = [];
  const idle = capacity.gpus.filter((gpu) => gpu.allocatedRunId === "");
  if (request.gpu.count > 0) {
    const matching = capacity.gpus.filter((gpu) => gpuFits(request.gpu, gpu));
    const free = matching.filter((gpu) => gpu.allocatedRunId === "");
    if (free.length < request.gpu.count) {
      const holders = [...new Set(matching.map((gpu) => gpu.allocatedRunId).filter(Boolean))];
      const held = holders.length > 0 ? ` (${matching.length - free.length} allocated to ${holders.join(", ")})` : "";
      missing.push(`needs ${describeGpuRequirement(request.gpu, formatSize)}, has ${free.length} free${held}`);
    } else {
      chosen = [...free].sort((a, b) => a.memoryMibTotal - b.memoryMibTotal).slice(0, request.gpu.count);
    }
  }
  if (missing.length > 0) return { fits: false, missing };
  return {
    fits: true,
    gpuUuids: chosen.map((gpu) => gpu.uuid),
    gpuMemoryMib: chosen.length > 0 ? Math.max(...chosen.map((gpu) => gpu.memoryMibTotal)) : 0,
    idleGpusAfter: idle.length - chosen.length,
    freeCoresAfter: freeCores - request.cpu,
    freeMemoryAfter: freeMemory - request.memoryBytes,
  };
}

/** Cores as people write them: `4`, `1.5`, `0.25`. */
export function formatCores(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}
