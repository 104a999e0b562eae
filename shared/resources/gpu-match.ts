import { type Range, inRange } from "../ranges.js";

// Brand words that say nothing about the model; "Tesla V100" and "V100" are the same request.
const VENDOR_WORDS = new Set(["nvidia", "geforce", "tesla", "quadro", "amd", "radeon", "instinct", "intel"]);

function tokens(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[\s_\-/]+/)
    .filter((token) => token !== "" && !VENDOR_WORDS.has(token));
}

/**
 * True when every word of the requested model occurs in the GPU's name, in
 * order, ignoring case and vendor words: "a100" matches "NVIDIA A100-SXM4-80GB",
 * "rtx a5000" matches "NVIDIA RTX A5000", "a100" does not match "A10".
 */
export function gpuNameMatches(requested: string, actual: string): boolean {
  const want = tokens(requested);
  if (want.length === 0) return true;
  const have = tokens(actual);
  let i = 0;
  for (const token of have) {
    if (token === want[i]) i++;
    if (i === want.length) return true;
  }
  return false;
}

export interface GpuRequirement {
  count: number;
  name?: string;
  /** Per GPU, bytes. */
  memory: Range;
}

export interface GpuCandidate {
  uuid: string;
  name: string;
  memoryMibTotal: number;
  migEnabled: boolean;
  allocatedRunId: string;
}

/**
 * Whether one GPU satisfies the model and memory asked for (allocation aside).
 * A GPU in MIG mode is allocated whole: the run gets all of its MIG slices.
 */
export function gpuFits(requirement: GpuRequirement, gpu: GpuCandidate): boolean {
  if (requirement.name && !gpuNameMatches(requirement.name, gpu.name)) return false;
  return inRange(gpu.memoryMibTotal * 1024 * 1024, requirement.memory);
}

/** Human-readable form of a GPU requirement: `1× A100 ≥40GB`. */
export function describeGpuRequirement(requirement: GpuRequirement, formatSize: (bytes: number) => string): string {
  const memory =
    requirement.memory.min !== undefined && requirement.memory.max !== undefined
      ? ` ${formatSize(requirement.memory.min)}..${formatSize(requirement.memory.max)}`
      : requirement.memory.min !== undefined
        ? ` ≥${formatSize(requirement.memory.min)}`
        : requirement.memory.max !== undefined
          ? ` ≤${formatSize(requirement.memory.max)}`
          : "";
  return `${requirement.count}× ${requirement.name ?? "GPU"}${memory}`;
}
