import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { type FitRequest, checkFit, formatCores } from "../../shared/resources/fit.js";

export interface Candidate {
  agent: string;
  /** One line on why this agent, for the user. */
  reason: string;
}

export interface Ranking {
  /** Agents that fit, best first. */
  candidates: Candidate[];
  /** Agents that do not fit, with every reason. */
  rejected: { agent: string; reason: string }[];
}

/**
 * Ranks the agents a run fits, best fit first: an interruptible run prefers
 * interruptible agents; then the smallest sufficient GPU memory, the fewest
 * GPUs left idle, the least cpu then memory left over; ties are broken by
 * `random` so that concurrent clients spread instead of colliding. A
 * non-interruptible run never lands on an interruptible agent.
 */
export function rankAgents(request: FitRequest, agents: { name: string; inventory: Inventory }[], random: () => number = Math.random): Ranking {
  const fitting: { agent: string; key: number[]; reason: string }[] = [];
  const rejected: Ranking["rejected"] = [];
  for (const { name, inventory } of agents) {
    const interruptible = inventory.agent?.interruptible ?? false;
    const fit = checkFit(request, {
      interruptible,
      allocatableCores: inventory.cpu?.allocatableCores ?? 0,
      allocatedCores: inventory.cpu?.allocatedCores ?? 0,
      allocatableMemoryBytes: Number(inventory.memory?.bytesAllocatable ?? 0n),
      allocatedMemoryBytes: Number(inventory.memory?.bytesAllocated ?? 0n),
      gpus: inventory.gpus,
    });
    if (!fit.fits) {
      rejected.push({ agent: name, reason: fit.missing.join("; ") });
      continue;
    }
    const gpuNote = fit.gpuUuids.length > 0 ? `${fit.gpuUuids.length}× ${fit.gpuMemoryMib} MiB GPU, ${fit.idleGpusAfter} GPUs left idle, ` : "";
    fitting.push({
      agent: name,
      key: [
        request.interruptible && !interruptible ? 1 : 0,
        fit.gpuMemoryMib,
        fit.idleGpusAfter,
        fit.freeCoresAfter,
        fit.freeMemoryAfter,
        random(),
      ],
      reason: `${gpuNote}${formatCores(fit.freeCoresAfter)} cpu and ${(fit.freeMemoryAfter / 1024 ** 3).toFixed(1)}GB memory left after it${interruptible ? ", interruptible" : ""}`,
    });
  }
  fitting.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!;
    return 0;
  });
  return { candidates: fitting.map(({ agent, reason }) => ({ agent, reason: `best fit: ${reason}` })), rejected };
}
