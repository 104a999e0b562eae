import { XMLParser } from "fast-xml-parser";
import { assignDefined } from "./parse-csv.js";
import type { GpuReport, ReportedGpu, ReportedMigDevice } from "./report.js";
import { isEnabled, numberValue, textValue } from "./values.js";

type Node = Record<string, unknown>;

/**
 * Parses `nvidia-smi -q -x`. Covers the DOCTYPE-less schema of 418-era
 * drivers through DTD v13, whose power readings moved from
 * `power_readings/power_draw` to `gpu_power_readings/instant_power_draw`.
 */
export function parseQueryXml(xml: string): GpuReport {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => name === "gpu" || name === "mig_device",
  });
  const doc = parser.parse(xml) as Node;
  const log = doc["nvidia_smi_log"];
  if (!isNode(log)) throw new Error("nvidia-smi XML has no <nvidia_smi_log> element");
  const gpuNodes = Array.isArray(log["gpu"]) ? (log["gpu"] as unknown[]).filter(isNode) : [];
  return {
    driverVersion: text(log, "driver_version") ?? "",
    cudaVersion: text(log, "cuda_version") ?? "",
    gpus: gpuNodes.map(toGpu),
  };
}

function toGpu(node: Node, position: number): ReportedGpu {
  const power =
    num(node, "power_readings", "power_draw") ??
    num(node, "power_readings", "instant_power_draw") ??
    num(node, "gpu_power_readings", "power_draw") ??
    num(node, "gpu_power_readings", "instant_power_draw") ??
    num(node, "gpu_power_readings", "average_power_draw");
  const migDevices = child(node, "mig_devices")?.["mig_device"];
  const gpu: ReportedGpu = {
    // The XML has no index element; nvidia-smi lists GPUs in index order.
    index: position,
    uuid: text(node, "uuid") ?? "",
    name: text(node, "product_name") ?? "",
    memoryMibTotal: num(node, "fb_memory_usage", "total") ?? 0,
    pciBusId: text(node, "pci", "pci_bus_id") ?? (typeof node["@id"] === "string" ? node["@id"] : ""),
    migEnabled: isEnabled(text(node, "mig_mode", "current_mig")),
    migDevices: Array.isArray(migDevices) ? migDevices.filter(isNode).map(toMigDevice) : [],
  };
  assignDefined(gpu, "memoryMibUsed", num(node, "fb_memory_usage", "used"));
  assignDefined(gpu, "utilizationPct", num(node, "utilization", "gpu_util"));
  assignDefined(gpu, "temperatureC", num(node, "temperature", "gpu_temp"));
  assignDefined(gpu, "powerDrawW", power);
  return gpu;
}

function toMigDevice(node: Node, position: number): ReportedMigDevice {
  return {
    index: num(node, "index") ?? position,
    uuid: "",
    profile: "",
    memoryMibTotal: num(node, "fb_memory_usage", "total") ?? 0,
  };
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(node: Node, ...path: string[]): Node | undefined {
  let current: unknown = node;
  for (const key of path) {
    if (!isNode(current)) return undefined;
    current = current[key];
  }
  return isNode(current) ? current : undefined;
}

function text(node: Node, ...path: string[]): string | undefined {
  const parent = child(node, ...path.slice(0, -1));
  const value = parent?.[path[path.length - 1]!];
  return typeof value === "string" ? textValue(value) : undefined;
}

function num(node: Node, ...path: string[]): number | undefined {
  return numberValue(text(node, ...path));
}
