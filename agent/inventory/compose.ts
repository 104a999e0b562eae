import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import type { DockerFacts } from "./docker-probe.js";
import type { HostFacts, HostUsage } from "./host-probe.js";
import type { GpuProbeResult } from "./nvidia-smi/probe.js";

/** What the agent has promised to runs; the ledger implements it. */
export interface Allocations {
  cores(): number;
  memoryBytes(): number;
  /** The run holding the GPU, or "" when it is free. */
  gpuHolder(uuid: string): string;
  activeRuns(): number;
}

export interface AgentIdentity {
  name: string;
  version: string;
  labels: Record<string, string>;
  interruptible: boolean;
  reservedCores: number;
  reservedMemoryBytes: number;
  /** Set in the config to offer a fixed amount instead of "total less reserved". */
  allocatableCores?: number;
  allocatableMemoryBytes?: number;
}

export interface Sample {
  facts: HostFacts;
  usage: HostUsage;
  gpu: GpuProbeResult;
  docker: DockerFacts;
  sampledAt: Date;
}

/** Builds the wire Inventory from one sample and the current allocations. */
export function composeInventory(identity: AgentIdentity, sample: Sample, allocations: Allocations): Inventory {
  const { facts, usage, gpu, docker } = sample;
  return {
    agent: {
      name: identity.name,
      version: identity.version,
      labels: identity.labels,
      interruptible: identity.interruptible,
    },
    host: { hostname: facts.hostname, os: facts.os, kernel: facts.kernel, arch: facts.arch },
    cpu: {
      model: facts.cpuModel,
      cores: facts.cpuCores,
      allocatableCores: identity.allocatableCores ?? Math.max(0, facts.cpuCores - identity.reservedCores),
      allocatedCores: allocations.cores(),
    },
    memory: {
      bytesTotal: BigInt(usage.memoryBytesTotal),
      bytesAllocatable: BigInt(identity.allocatableMemoryBytes ?? Math.max(0, usage.memoryBytesTotal - identity.reservedMemoryBytes)),
      bytesAllocated: BigInt(allocations.memoryBytes()),
    },
    disk: { path: usage.diskPath, bytesTotal: BigInt(usage.diskBytesTotal), bytesFree: BigInt(usage.diskBytesFree) },
    gpus: gpu.report.gpus.map((reported) => ({
      index: reported.index,
      uuid: reported.uuid,
      name: reported.name,
      memoryMibTotal: reported.memoryMibTotal,
      memoryMibUsed: reported.memoryMibUsed,
      utilizationPct: reported.utilizationPct,
      temperatureC: reported.temperatureC,
      powerDrawW: reported.powerDrawW,
      pciBusId: reported.pciBusId,
      migEnabled: reported.migEnabled,
      allocatedRunId: allocations.gpuHolder(reported.uuid),
      migDevices: reported.migDevices.map((device) => ({ ...device })),
    })),
    gpuDriver: {
      vendor: gpu.vendor,
      driverVersion: gpu.report.driverVersion,
      cudaVersion: gpu.report.cudaVersion,
      healthy: gpu.healthy,
      error: gpu.error,
    },
    docker: { version: docker.version, healthy: docker.healthy, error: docker.error },
    sampledAt: sample.sampledAt,
    activeRuns: allocations.activeRuns(),
  };
}
