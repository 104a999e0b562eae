import type { GpuReport, ReportedGpu } from "./report.js";
import { isEnabled, numberValue, textValue } from "./values.js";

/**
 * The fields the agent asks for with `--query-gpu=... --format=csv`. The parser
 * reads columns by header name, so extra or reordered columns (older captures,
 * other tools) parse too, and a field absent from the header is simply unknown.
 */
export const QUERY_GPU_FIELDS = [
  "index",
  "uuid",
  "name",
  "memory.total",
  "memory.used",
  "utilization.gpu",
  "temperature.gpu",
  "power.draw",
  "pci.bus_id",
  "mig.mode.current",
  "driver_version",
] as const;

/** Parses `nvidia-smi --query-gpu=... --format=csv` output (header row included, units allowed). */
export function parseQueryGpuCsv(output: string): GpuReport {
  const lines = output.split(/\r?\n/).filter((line) => line.trim() !== "");
  const [headerLine, ...rows] = lines;
  if (headerLine === undefined) return { driverVersion: "", cudaVersion: "", gpus: [] };
  // Headers carry units when `nounits` is not given: `memory.total [MiB]`.
  const header = splitRow(headerLine).map((name) => name.replace(/\s*\[[^\]]*\]$/, "").trim());
  const column = new Map(header.map((name, i) => [name, i]));
  if (!column.has("uuid") && !column.has("name")) {
    throw new Error(`nvidia-smi CSV has no uuid or name column (header: ${headerLine.slice(0, 120)})`);
  }

  let driverVersion = "";
  const gpus: ReportedGpu[] = rows.map((row, rowIndex) => {
    const cells = splitRow(row);
    const get = (name: string): string | undefined => {
      const i = column.get(name);
      return i === undefined ? undefined : cells[i];
    };
    driverVersion ||= textValue(get("driver_version")) ?? "";
    const gpu: ReportedGpu = {
      index: numberValue(get("index")) ?? rowIndex,
      uuid: textValue(get("uuid")) ?? "",
      name: textValue(get("name")) ?? "",
      memoryMibTotal: numberValue(get("memory.total")) ?? 0,
      pciBusId: textValue(get("pci.bus_id")) ?? "",
      migEnabled: isEnabled(get("mig.mode.current")),
      migDevices: [],
    };
    assignDefined(gpu, "memoryMibUsed", numberValue(get("memory.used")));
    assignDefined(gpu, "utilizationPct", numberValue(get("utilization.gpu")));
    assignDefined(gpu, "temperatureC", numberValue(get("temperature.gpu")));
    assignDefined(gpu, "powerDrawW", numberValue(get("power.draw")) ?? numberValue(get("power.draw.instant")));
    return gpu;
  });
  return { driverVersion, cudaVersion: "", gpus };
}

// nvidia-smi never quotes; values (names included) contain no commas.
function splitRow(row: string): string[] {
  return row.split(",").map((cell) => cell.trim());
}

export function assignDefined<K extends "memoryMibUsed" | "utilizationPct" | "temperatureC" | "powerDrawW">(
  gpu: ReportedGpu,
  key: K,
  value: number | undefined,
): void {
  if (value !== undefined) gpu[key] = value;
}
