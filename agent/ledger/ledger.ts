import { ResourceExhaustedError } from "../../shared/errors.js";
import { type GpuCandidate, type GpuRequirement, describeGpuRequirement, gpuFits } from "../../shared/resources/gpu-match.js";
import { formatSize } from "../../shared/sizes.js";
import type { Allocations } from "../inventory/compose.js";

export interface ResourceRequest {
  cpu: number;
  memoryBytes: number;
  gpu: GpuRequirement;
  interruptible: boolean;
}

export interface Capacity {
  allocatableCores: number;
  allocatableMemoryBytes: number;
  gpus: Omit<GpuCandidate, "allocatedRunId">[];
  /** The agent's machine may be taken away. */
  interruptible: boolean;
}

export interface Reservation {
  runId: string;
  gpuUuids: string[];
  cpu: number;
  memoryBytes: number;
}

/**
 * What this agent has promised to runs. The agent is the only authority on its
 * resources: reserve() is synchronous, so two StartRuns racing for the last
 * GPU cannot both win, and a reservation is all or nothing.
 */
export class Ledger implements Allocations {
  private readonly byRun = new Map<string, Reservation>();

  reserve(runId: string, request: ResourceRequest, capacity: Capacity): Reservation {
    if (this.byRun.has(runId)) throw new Error(`run ${runId} already holds a reservation`);
    const missing: string[] = [];
    if (capacity.interruptible && !request.interruptible) {
      missing.push("this agent is interruptible and the run is not (set resources.interruptible to place it here)");
    }
    const freeCores = capacity.allocatableCores - this.cores();
    if (request.cpu > freeCores + 1e-9) {
      missing.push(`needs ${request.cpu} cpu, has ${trim(freeCores)} free of ${trim(capacity.allocatableCores)}`);
    }
    const freeMemory = capacity.allocatableMemoryBytes - this.memoryBytes();
    if (request.memoryBytes > freeMemory) {
      missing.push(`needs ${formatSize(request.memoryBytes)} memory, has ${formatSize(Math.max(0, freeMemory))} free`);
    }
    const gpus = this.pickGpus(request.gpu, capacity, missing);
    if (missing.length > 0) throw new ResourceExhaustedError(missing.join("; "));
    const reservation = { runId, gpuUuids: gpus, cpu: request.cpu, memoryBytes: request.memoryBytes };
    this.byRun.set(runId, reservation);
    return reservation;
  }

  /** Puts back a reservation rebuilt from a container's labels after a restart; no capacity check. */
  restore(reservation: Reservation): void {
    this.byRun.set(reservation.runId, reservation);
  }

  release(runId: string): void {
    this.byRun.delete(runId);
  }

  holds(runId: string): boolean {
    return this.byRun.has(runId);
  }

  cores(): number {
    let sum = 0;
    for (const reservation of this.byRun.values()) sum += reservation.cpu;
    return sum;
  }

  memoryBytes(): number {
    let sum = 0;
    for (const reservation of this.byRun.values()) sum += reservation.memoryBytes;
    return sum;
  }

  gpuHolder(uuid: string): string {
    for (const reservation of this.byRun.values()) if (reservation.gpuUuids.includes(uuid)) return reservation.runId;
    return "";
  }

  activeRuns(): number {
    return this.byRun.size;
  }

  private pickGpus(requirement: GpuRequirement, capacity: Capacity, missing: string[]): string[] {
    if (requirement.count === 0) return [];
    const matching = capacity.gpus.filter((gpu) => gpuFits(requirement, { ...gpu, allocatedRunId: "" }));
    const free = matching.filter((gpu) => this.gpuHolder(gpu.uuid) === "");
    if (free.length < requirement.count) {
      const holders = [...new Set(matching.map((gpu) => this.gpuHolder(gpu.uuid)).filter(Boolean))];
      const held = holders.length > 0 ? ` (${matching.length - free.length} allocated to ${holders.join(", ")})` : "";
      missing.push(`needs ${describeGpuRequirement(requirement, formatSize)}, has ${free.length} free${held}`);
      return [];
    }
    // Best fit: the smallest GPUs that satisfy the request, leaving big ones for big requests.
    return [...free]
      .sort((a, b) => a.memoryMibTotal - b.memoryMibTotal)
      .slice(0, requirement.count)
      .map((gpu) => gpu.uuid);
  }
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
