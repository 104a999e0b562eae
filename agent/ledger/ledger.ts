import { ResourceExhaustedError } from "../../shared/errors.js";
import { type FitRequest, checkFit } from "../../shared/resources/fit.js";
import type { GpuCandidate } from "../../shared/resources/gpu-match.js";
import type { Allocations } from "../inventory/compose.js";

export type ResourceRequest = FitRequest;

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
    const fit = checkFit(request, {
      interruptible: capacity.interruptible,
      allocatableCores: capacity.allocatableCores,
      allocatedCores: this.cores(),
      allocatableMemoryBytes: capacity.allocatableMemoryBytes,
      allocatedMemoryBytes: this.memoryBytes(),
      gpus: capacity.gpus.map((gpu) => ({ ...gpu, allocatedRunId: this.gpuHolder(gpu.uuid) })),
    });
    if (!fit.fits) throw new ResourceExhaustedError(fit.missing.join("; "));
    const reservation = { runId, gpuUuids: fit.gpuUuids, cpu: request.cpu, memoryBytes: request.memoryBytes };
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
}
