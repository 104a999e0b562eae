import { type ServiceError, status } from "@grpc/grpc-js";
import { BerthError, StatusCode } from "../../shared/errors.js";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { connectAgent } from "./connect.js";
import type { FleetAgent } from "./store.js";

export type AgentStatus = "ok" | "unreachable" | "unauthenticated" | "error";

export interface AgentInventory {
  agent: FleetAgent;
  status: AgentStatus;
  error: string;
  inventory: Inventory | undefined;
}

export interface QueryOptions {
  home: string;
  timeoutMs: number;
  /** How many agents are asked at once; the rest wait for a free slot. */
  concurrency?: number;
}

/** Asks every agent for its inventory at once; each gets its own deadline and a failure never hides the others. */
export async function queryFleet(agents: FleetAgent[], options: QueryOptions): Promise<AgentInventory[]> {
  return mapLimited(agents, options.concurrency ?? 128, (agent) => queryAgent(agent, options));
}

export async function queryAgent(agent: FleetAgent, options: QueryOptions): Promise<AgentInventory> {
  const deadline = new Date(Date.now() + options.timeoutMs);
  let close = (): void => {};
  try {
    const connection = await connectAgent(agent, options.home, deadline);
    close = () => connection.close();
    const inventory = await new Promise<Inventory>((resolve, reject) => {
      connection.client.getInventory({ refresh: false }, connection.metadata, { deadline }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
    return { agent, status: "ok", error: "", inventory };
  } catch (error) {
    return { agent, inventory: undefined, ...classify(error, options.timeoutMs) };
  } finally {
    close();
  }
}

function classify(error: unknown, timeoutMs: number): { status: AgentStatus; error: string } {
  if (error instanceof BerthError) {
    if (error.code === StatusCode.Unavailable) return { status: "unreachable", error: error.message };
    if (error.code === StatusCode.Unauthenticated) return { status: "unauthenticated", error: error.message };
    return { status: "error", error: error.message };
  }
  const serviceError = error as Partial<ServiceError>;
  switch (serviceError.code) {
    case status.UNAUTHENTICATED:
      return { status: "unauthenticated", error: serviceError.details ?? "unauthenticated" };
    case status.DEADLINE_EXCEEDED:
      return { status: "unreachable", error: `no answer within ${timeoutMs} ms` };
    case status.UNAVAILABLE:
      return { status: "unreachable", error: cleanUnavailable(serviceError.details ?? "unavailable") };
    default:
      return { status: "error", error: serviceError.details ?? (error as Error)?.message ?? String(error) };
  }
}

// grpc-js wraps the socket error in several layers of context; the innermost part is what a person needs.
function cleanUnavailable(details: string): string {
  const match = /Last error: (?:Error: )?(.+?)(?:\. Resolution note| \(|$)/s.exec(details);
  return match?.[1] ?? details;
}

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
