/** One line group of `nvidia-smi -L`. */
export interface ListedGpu {
  index: number;
  name: string;
  uuid: string;
  migDevices: { index: number; profile: string; uuid: string }[];
}

const GPU_LINE = /^GPU (\d+): (.+?) \(UUID: ([^)]+)\)\s*$/;
const MIG_LINE = /^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$/;

/** Parses `nvidia-smi -L`, the only output that names MIG devices with their UUIDs and profiles. */
export function parseGpuList(output: string): ListedGpu[] {
  const gpus: ListedGpu[] = [];
  for (const line of output.split(/\r?\n/)) {
    const gpu = GPU_LINE.exec(line);
    if (gpu) {
      gpus.push({ index: Number(gpu[1]), name: gpu[2]!, uuid: gpu[3]!, migDevices: [] });
      continue;
    }
    const mig = MIG_LINE.exec(line);
    if (mig && gpus.length > 0) {
      gpus[gpus.length - 1]!.migDevices.push({ profile: mig[1]!, index: Number(mig[2]), uuid: mig[3]! });
    }
  }
  return gpus;
}
