import type { ListedGpu } from "./parse-list.js";
import type { GpuReport, ReportedGpu } from "./report.js";
import { profileMemoryMib } from "./values.js";

/**
 * Combines what the three nvidia-smi outputs know. The CSV query is the
 * primary source for per-GPU numbers; the XML adds the CUDA version and MIG
 * slices and fills fields the CSV lacked (old drivers); `-L` adds MIG UUIDs
 * and profile names, which neither of the others carries.
 */
export function mergeReports(csv: GpuReport | undefined, xml: GpuReport | undefined, list: ListedGpu[] = []): GpuReport {
  const primary = csv ?? xml;
  if (!primary) return { driverVersion: "", cudaVersion: "", gpus: [] };
  const gpus = primary.gpus.map((gpu) => {
    const fromXml = xml && csv ? findGpu(xml.gpus, gpu) : undefined;
    const merged: ReportedGpu = fromXml ? fillGaps(gpu, fromXml) : { ...gpu, migDevices: [...gpu.migDevices] };
    const listed = list.find((item) => item.uuid === merged.uuid) ?? list.find((item) => item.index === merged.index);
    return listed ? withListedMig(merged, listed) : merged;
  });
  return {
    driverVersion: primary.driverVersion || xml?.driverVersion || "",
    cudaVersion: xml?.cudaVersion || primary.cudaVersion,
    gpus,
  };
}

function findGpu(candidates: ReportedGpu[], gpu: ReportedGpu): ReportedGpu | undefined {
  return (
    candidates.find((other) => gpu.uuid !== "" && other.uuid === gpu.uuid) ??
    candidates.find((other) => gpu.pciBusId !== "" && other.pciBusId === gpu.pciBusId)
  );
}

function fillGaps(gpu: ReportedGpu, other: ReportedGpu): ReportedGpu {
  return {
    ...other,
    ...definedOnly(gpu),
    name: gpu.name || other.name,
    uuid: gpu.uuid || other.uuid,
    pciBusId: gpu.pciBusId || other.pciBusId,
    memoryMibTotal: gpu.memoryMibTotal || other.memoryMibTotal,
    migEnabled: gpu.migEnabled || other.migEnabled,
    migDevices: gpu.migDevices.length > 0 ? gpu.migDevices : other.migDevices,
  };
}

function definedOnly(gpu: ReportedGpu): Partial<ReportedGpu> {
  return Object.fromEntries(Object.entries(gpu).filter(([, value]) => value !== undefined));
}

function withListedMig(gpu: ReportedGpu, listed: ListedGpu): ReportedGpu {
  if (listed.migDevices.length === 0) return gpu;
  const migDevices = listed.migDevices.map((device) => {
    const known = gpu.migDevices.find((other) => other.index === device.index);
    return {
      index: device.index,
      uuid: device.uuid,
      profile: device.profile,
      memoryMibTotal: known?.memoryMibTotal || profileMemoryMib(device.profile),
    };
  });
  return { ...gpu, migEnabled: true, migDevices };
}
