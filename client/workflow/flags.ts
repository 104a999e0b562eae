import { ValidationError } from "../../shared/errors.js";
import { RunSpec } from "../../shared/gen/berth/v1/run.js";
import { type ValidSpec, validateSpec } from "../../shared/workflow/spec.js";
import { parseGpuFlag } from "./gpu-flag.js";

/** The options of `berth run` that describe the workflow. */
export interface WorkflowFlags {
  gpu?: string;
  gpuName?: string;
  gpuMemory?: string;
  cpu?: string;
  memory?: string;
  shmSize?: string;
  interruptible?: boolean;
  port: string[];
  env: string[];
  setup: string[];
  python?: string;
  workingDir?: string;
  cache: string[];
  artifact: string[];
  image?: string;
  name?: string;
}

/**
 * Flags over the workflow file: a scalar flag replaces the file's value, a
 * repeated flag (--port, --setup, --cache, --artifact) replaces the file's
 * list, and --env adds to the file's env, replacing keys it names.
 */
export function applyFlags(base: RunSpec, flags: WorkflowFlags): RunSpec {
  const spec = RunSpec.fromPartial(base);
  spec.resources ??= { cpu: 0, memory: "", gpu: undefined, shmSize: "", interruptible: false };
  const resources = spec.resources;
  if (flags.name !== undefined) spec.name = flags.name;
  if (flags.python !== undefined) spec.python = flags.python;
  if (flags.workingDir !== undefined) spec.workingDir = flags.workingDir;
  if (flags.image !== undefined) spec.image = flags.image;
  if (flags.setup.length > 0) spec.setup = flags.setup;
  if (flags.port.length > 0) spec.ports = flags.port;
  if (flags.cache.length > 0) spec.cache = flags.cache.map((path) => ({ path }));
  if (flags.artifact.length > 0) {
    spec.artifacts = flags.artifact.map((entry) => {
      const mount = entry.endsWith(":mount");
      return { path: mount ? entry.slice(0, -":mount".length) : entry, mount };
    });
  }
  if (flags.env.length > 0) {
    const keys = new Set(flags.env.map((entry) => entry.split("=")[0]));
    spec.env = [...spec.env.filter((entry) => !keys.has(entry.split("=")[0])), ...flags.env];
  }
  if (flags.cpu !== undefined) {
    const cpu = Number(flags.cpu);
    if (flags.cpu.trim() === "" || !Number.isFinite(cpu) || cpu < 0) throw new ValidationError("--cpu", "a number of cores ≥ 0", flags.cpu);
    resources.cpu = cpu;
  }
  if (flags.memory !== undefined) resources.memory = flags.memory;
  if (flags.shmSize !== undefined) resources.shmSize = flags.shmSize;
  if (flags.interruptible) resources.interruptible = true;
  if (flags.gpu !== undefined || flags.gpuName !== undefined || flags.gpuMemory !== undefined) {
    const gpu = flags.gpu !== undefined ? parseGpuFlag(flags.gpu, "--gpu") : { ...(resources.gpu ?? { count: 0, name: "", memory: "" }) };
    if (flags.gpuName !== undefined) gpu.name = flags.gpuName;
    if (flags.gpuMemory !== undefined) gpu.memory = flags.gpuMemory;
    resources.gpu = gpu;
  }
  return spec;
}

const FLAG_OF: [RegExp, string][] = [
  [/^resources\.cpu$/, "--cpu"],
  [/^resources\.memory$/, "--memory"],
  [/^resources\.shm_size$/, "--shm-size"],
  [/^resources\.gpu\.name$/, "--gpu-name"],
  [/^resources\.gpu\.memory$/, "--gpu-memory"],
  [/^resources\.gpu/, "--gpu"],
  [/^ports/, "--port"],
  [/^env/, "--env"],
  [/^setup/, "--setup"],
  [/^cache/, "--cache"],
  [/^artifacts/, "--artifact"],
  [/^working_dir$/, "--working-dir"],
  [/^python$/, "--python"],
  [/^image$/, "--image"],
  [/^name$/, "--name"],
];

/** Validates the merged spec; a failure here came from a flag (the file was checked alone first), so it names the flag. */
export function validateWithFlags(spec: RunSpec): ValidSpec {
  try {
    return validateSpec(spec);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const flag = FLAG_OF.find(([pattern]) => pattern.test(error.field))?.[1];
    if (!flag) throw error;
    throw new ValidationError(flag, error.expected, error.got);
  }
}
