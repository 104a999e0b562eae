import { formatCores } from "../../shared/resources/fit.js";
import { formatSize } from "../../shared/sizes.js";
import { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import type { AgentInventory } from "../fleet/query.js";
import { formatTable } from "./table.js";

/** The `berth fleet ls --json` document: the inventory in the proto3 JSON mapping. */
export function fleetJson(results: AgentInventory[]): { agents: unknown[] } {
  return {
    agents: results.map((result) => ({
      name: result.agent.name,
      address: result.agent.address,
      status: result.status,
      error: result.error,
      inventory: result.inventory ? Inventory.toJSON(result.inventory) : null,
    })),
  };
}

export function renderFleetTable(results: AgentInventory[]): string {
  const rows = results.map(({ agent, status, error, inventory }) => {
    if (!inventory) return [agent.name, status, "", "", "", "", "", error];
    const cpu = inventory.cpu;
    const memory = inventory.memory;
    const notes = [
      inventory.gpuDriver && !inventory.gpuDriver.healthy ? `gpu: ${inventory.gpuDriver.error}` : "",
      inventory.docker && !inventory.docker.healthy ? inventory.docker.error : "",
    ].filter(Boolean);
    return [
      agent.name,
      status,
      cpu ? `${formatCores(cpu.allocatableCores - cpu.allocatedCores)}/${formatCores(cpu.allocatableCores)}` : "",
      memory ? `${formatSize(Number(memory.bytesAllocatable - memory.bytesAllocated))}/${formatSize(Number(memory.bytesAllocatable))}` : "",
      summarizeGpus(inventory),
      inventory.gpuDriver?.driverVersion || "-",
      String(inventory.activeRuns),
      notes.join("; "),
    ];
  });
  return formatTable(["AGENT", "STATUS", "CPU free/total", "MEMORY free/total", "GPUS", "DRIVER", "RUNS", "NOTE"], rows);
}

/** `2× NVIDIA RTX A5000 (1/2 free)`, grouped by model. */
export function summarizeGpus(inventory: Inventory): string {
  if (inventory.gpus.length === 0) return "-";
  const groups = new Map<string, { total: number; free: number }>();
  for (const gpu of inventory.gpus) {
    const group = groups.get(gpu.name) ?? { total: 0, free: 0 };
    group.total += 1;
    if (gpu.allocatedRunId === "") group.free += 1;
    groups.set(gpu.name, group);
  }
  return [...groups].map(([name, group]) => `${group.total}× ${name} (${group.free}/${group.total} free)`).join(", ");
}

export function renderAgentDetail(result: AgentInventory): string {
  const { agent, status, error, inventory } = result;
  const lines = [`${agent.name}  ${agent.address}  ${status}${error ? `: ${error}` : ""}`];
  if (!inventory) return lines.join("\n");
  const { host, cpu, memory, disk, gpuDriver, docker } = inventory;
  const labels = Object.entries(inventory.agent?.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  lines.push(
    `  agent    ${inventory.agent?.version ?? ""}${inventory.agent?.interruptible ? " (interruptible)" : ""}${labels.length ? `  labels: ${labels.join(", ")}` : ""}`,
    `  host     ${host?.hostname ?? ""}  ${host?.os ?? ""}  kernel ${host?.kernel ?? ""}  ${host?.arch ?? ""}`,
    `  cpu      ${cpu?.model ?? ""}  ${cpu?.cores ?? 0} cores, ${formatCores(cpu?.allocatableCores ?? 0)} allocatable, ${formatCores(cpu?.allocatedCores ?? 0)} allocated`,
    `  memory   ${formatSize(Number(memory?.bytesTotal ?? 0n))} total, ${formatSize(Number(memory?.bytesAllocatable ?? 0n))} allocatable, ${formatSize(Number(memory?.bytesAllocated ?? 0n))} allocated`,
    `  disk     ${disk?.path ?? ""}  ${formatSize(Number(disk?.bytesFree ?? 0n))} free of ${formatSize(Number(disk?.bytesTotal ?? 0n))}`,
    `  driver   ${gpuDriver?.vendor || "none"} ${gpuDriver?.driverVersion ?? ""}${gpuDriver?.cudaVersion ? `  CUDA ${gpuDriver.cudaVersion}` : ""}  ${gpuDriver?.healthy ? "healthy" : `unhealthy: ${gpuDriver?.error ?? ""}`}`,
    `  docker   ${docker?.healthy ? `${docker.version} healthy` : `unhealthy: ${docker?.error ?? ""}`}`,
    `  sampled  ${inventory.sampledAt?.toISOString() ?? ""}`,
  );
  if (inventory.gpus.length === 0) {
    lines.push("  gpus     none");
    return lines.join("\n");
  }
  const rows = inventory.gpus.map((gpu) => [
    String(gpu.index),
    gpu.name,
    gpu.uuid,
    `${gpu.memoryMibUsed ?? "?"}/${gpu.memoryMibTotal} MiB`,
    gpu.utilizationPct === undefined ? "n/a" : `${gpu.utilizationPct}%`,
    gpu.temperatureC === undefined ? "n/a" : `${gpu.temperatureC}°C`,
    gpu.powerDrawW === undefined ? "n/a" : `${gpu.powerDrawW} W`,
    gpu.pciBusId,
    gpu.migEnabled ? `MIG: ${gpu.migDevices.map((d) => d.profile || `${d.memoryMibTotal} MiB`).join(", ") || "enabled"}` : "-",
    gpu.allocatedRunId || "free",
  ]);
  const table = formatTable(["#", "NAME", "UUID", "MEMORY", "UTIL", "TEMP", "POWER", "PCI", "MIG", "RUN"], rows);
  lines.push("", ...table.split("\n").map((line) => `  ${line}`));
  return lines.join("\n");
}
