import { statfs } from "node:fs/promises";
import si from "systeminformation";

export interface HostFacts {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpuCores: number;
}

export interface HostUsage {
  memoryBytesTotal: number;
  diskPath: string;
  diskBytesTotal: number;
  diskBytesFree: number;
}

/** Facts that do not change while the agent runs are read once; usage is read every sample. */
export interface HostProbe {
  facts(): Promise<HostFacts>;
  usage(): Promise<HostUsage>;
}

export function createHostProbe(diskPath: string): HostProbe {
  return {
    async facts() {
      const [os, cpu] = await Promise.all([si.osInfo(), si.cpu()]);
      const cpuModel = [cpu.manufacturer, cpu.brand].filter(Boolean).join(" ").trim();
      return {
        hostname: os.hostname,
        os: [os.distro, os.release].filter(Boolean).join(" ").trim() || os.platform,
        kernel: os.kernel,
        arch: os.arch,
        cpuModel,
        // Logical cores: what Docker's NanoCpus divides.
        cpuCores: cpu.cores,
      };
    },
    async usage() {
      const [mem, fs] = await Promise.all([si.mem(), statfs(diskPath)]);
      return {
        memoryBytesTotal: mem.total,
        diskPath,
        diskBytesTotal: fs.blocks * fs.bsize,
        diskBytesFree: fs.bavail * fs.bsize,
      };
    },
  };
}
