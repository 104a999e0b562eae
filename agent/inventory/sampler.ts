import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { type AgentIdentity, type Allocations, composeInventory, type Sample } from "./compose.js";
import type { DockerProbe } from "./docker-probe.js";
import type { HostFacts, HostProbe } from "./host-probe.js";
import type { GpuProbe } from "./nvidia-smi/probe.js";

export interface SamplerDeps {
  identity: AgentIdentity;
  host: HostProbe;
  gpu: GpuProbe;
  docker: DockerProbe;
  allocations: Allocations;
  periodMs: number;
  now?: () => Date;
  onError?: (error: unknown) => void;
}

/**
 * Samples the machine in the background and answers from the last sample,
 * because nvidia-smi can take seconds on a busy host while GetInventory must
 * stay around a millisecond. Allocations are read live, so a reservation shows
 * at once rather than at the next sample.
 */
export class InventorySampler {
  private latest: Sample | undefined;
  private facts: HostFacts | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<Sample> | undefined;

  constructor(private readonly deps: SamplerDeps) {}

  /** Takes the first sample, then keeps sampling every period until stop(). */
  async start(): Promise<void> {
    await this.sampleNow();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The inventory as of the last sample. */
  current(): Inventory {
    if (!this.latest) throw new Error("inventory sampler has not taken its first sample");
    return composeInventory(this.deps.identity, this.latest, this.deps.allocations);
  }

  /** Re-detects now (concurrent callers share one probe) and answers from the fresh sample. */
  async refresh(): Promise<Inventory> {
    await this.sampleNow();
    return this.current();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sampleNow()
        .catch((error: unknown) => this.deps.onError?.(error))
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, this.deps.periodMs);
    this.timer.unref();
  }

  private sampleNow(): Promise<Sample> {
    this.inFlight ??= this.takeSample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async takeSample(): Promise<Sample> {
    this.facts ??= await this.deps.host.facts();
    const [usage, gpu, docker] = await Promise.all([this.deps.host.usage(), this.deps.gpu.probe(), this.deps.docker.probe()]);
    const sample: Sample = { facts: this.facts, usage, gpu, docker, sampledAt: (this.deps.now ?? (() => new Date()))() };
    this.latest = sample;
    return sample;
  }
}
