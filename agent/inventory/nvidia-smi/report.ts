/** What nvidia-smi told us about the GPUs, independent of which output format said it. */
export interface GpuReport {
  driverVersion: string;
  cudaVersion: string;
  gpus: ReportedGpu[];
}

export interface ReportedGpu {
  index: number;
  uuid: string;
  name: string;
  /** 0 when the output did not include it. */
  memoryMibTotal: number;
  memoryMibUsed?: number;
  utilizationPct?: number;
  temperatureC?: number;
  powerDrawW?: number;
  pciBusId: string;
  migEnabled: boolean;
  migDevices: ReportedMigDevice[];
}

export interface ReportedMigDevice {
  index: number;
  uuid: string;
  profile: string;
  memoryMibTotal: number;
}
