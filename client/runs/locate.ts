import { status } from "@grpc/grpc-js";
import { NotFoundError } from "../../shared/errors.js";
import { type Run, RunState } from "../../shared/gen/berth/v1/run.js";
import { type AgentConnection, connectAgent } from "../fleet/connect.js";
import type { FleetAgent } from "../fleet/store.js";
import { readRunRecords } from "./records.js";

export interface LocatedRun {
  agent: FleetAgent;
  connection: AgentConnection;
  run: Run;
}

export function getRun(connection: AgentConnection, ref: string, deadline: Date): Promise<Run> {
  return new Promise((resolve, reject) =>
    connection.client.getRun({ run: ref }, connection.metadata, { deadline }, (error, run) => (error ? reject(error) : resolve(run))),
  );
}

/** Finds a run by name or id: on the agent the local record names, else by asking every agent. */
export async function locateRun(ref: string, agents: FleetAgent[], home: string, timeoutMs: number): Promise<LocatedRun> {
  const records = await readRunRecords(home);
  const record = records.find((r) => r.name === ref || r.runId === ref);
  const order = record ? [...agents.filter((a) => a.name === record.agent), ...agents.filter((a) => a.name !== record.agent)] : agents;
  const deadline = new Date(Date.now() + timeoutMs);
  const attempts = await Promise.all(
    order.map(async (agent) => {
      try {
        const connection = await connectAgent(agent, home, deadline);
        try {
          return { agent, connection, run: await getRun(connection, ref, deadline) };
        } catch (error) {
          connection.close();
          if ((error as { code?: number }).code === status.NOT_FOUND) return undefined;
          throw error;
        }
      } catch {
        return undefined;
      }
    }),
  );
  const found = attempts.filter((a): a is LocatedRun => a !== undefined);
  const live = found.find((f) => f.run.state !== RunState.RUN_STATE_STOPPED && f.run.state !== RunState.RUN_STATE_FAILED) ?? found[0];
  for (const other of found) if (other !== live) other.connection.close();
  if (!live) throw new NotFoundError(`no run ${JSON.stringify(ref)} on any agent of the fleet`);
  return live;
}
