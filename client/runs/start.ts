import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { type ClientReadableStream, status } from "@grpc/grpc-js";
import { type RunEvent, RunSpec } from "../../shared/gen/berth/v1/run.js";
import { parseDuration } from "../../shared/durations.js";
import { archiveCode } from "../code/archive.js";
import { ExitCode, ExitError, UsageError } from "../exit.js";
import { connectAgent } from "../fleet/connect.js";
import { queryFleet } from "../fleet/query.js";
import { agentHost, loadFleet } from "../fleet/store.js";
import { berthHome } from "../home.js";
import { createRunView } from "../render/run-view.js";
import { rankAgents } from "../scheduler/rank.js";
import { ensureClientKey } from "../ssh/keys.js";
import { type WorkflowFlags, applyFlags, validateWithFlags } from "../workflow/flags.js";
import { workflowFromYaml } from "../workflow/file.js";
import { runSession } from "./session.js";

export interface RunOptions extends Omit<WorkflowFlags, "port" | "env" | "setup" | "cache" | "artifact"> {
  port: string[];
  env: string[];
  setup: string[];
  cache: string[];
  artifact: string[];
  code?: boolean;
  agent?: string;
  detach?: boolean;
  json?: boolean;
  timeout: string;
}

/** `berth run`: build the spec, pick the agent, start the run there, and follow it. Returns the exit code. */
export async function startRun(workflow: string, options: RunOptions): Promise<number> {
  const home = berthHome();
  const view = createRunView(options.json ? "json" : "text");
  const timeoutMs = parseDuration(options.timeout, "--timeout");

  // 1. The spec: the workflow file (checked alone, errors name file and line), then the flags over it.
  let base = RunSpec.create();
  if (workflow !== "ssh") {
    const file = join(".berth", "workflows.yaml");
    const text = await readFile(file, "utf8").catch(() => {
      throw new UsageError(`${file}: no such file (run \`berth run ssh\` for a workflow from flags alone)`);
    });
    base = workflowFromYaml(text, file, workflow);
  }
  const spec = applyFlags(base, options);
  spec.name ||= defaultRunName(process.cwd());
  const valid = validateWithFlags(spec);

  // 2. Key and code.
  spec.authorizedKeys = [await ensureClientKey(home)];
  const code = await archiveCode(process.cwd());
  spec.codeArchive = code.archive;
  spec.owner = safeScope(userInfo().username);
  spec.repo = code.repo;

  // 3. Where: ask the fleet, rank what fits.
  const fleet = await loadFleet(home);
  const agents = options.agent ? fleet.agents.filter((agent) => agent.name === options.agent) : fleet.agents;
  if (agents.length === 0) throw new UsageError(`no agent named ${JSON.stringify(options.agent)} in the fleet`);
  const inventories = await queryFleet(agents, { home, timeoutMs });
  const reachable = inventories.filter((result) => result.status === "ok");
  const unreachable = inventories.filter((result) => result.status !== "ok").map((result) => `${result.agent.name}: ${result.status}: ${result.error}`);
  if (reachable.length === 0) throw new ExitError(ExitCode.NoAgentReachable, ["no agent is reachable:", ...unreachable.map((l) => `  ${l}`)].join("\n"));
  const ranking = rankAgents(
    { cpu: valid.resources.cpu, memoryBytes: valid.resources.memoryBytes ?? 0, gpu: valid.resources.gpu, interruptible: valid.resources.interruptible },
    reachable.map((result) => ({ name: result.agent.name, inventory: result.inventory! })),
  );
  const noCapacity = (extra: string[] = []) =>
    new ExitError(
      ExitCode.NoCapacity,
      ["no agent can take this run:", ...ranking.rejected.map((r) => `  ${r.agent}: ${r.reason}`), ...extra.map((l) => `  ${l}`), ...unreachable.map((l) => `  ${l}`)].join("\n"),
    );
  if (ranking.candidates.length === 0) throw noCapacity();

  // 4. StartRun on the best; the agent is the authority, so a lost race moves on to the next.
  const lost: string[] = [];
  for (const candidate of ranking.candidates) {
    const agent = agents.find((a) => a.name === candidate.agent)!;
    let connection;
    try {
      connection = await connectAgent(agent, home, new Date(Date.now() + timeoutMs));
    } catch (error) {
      // Answered the inventory a moment ago but not now: the next candidate may.
      lost.push(`${agent.name}: ${(error as Error).message}`);
      continue;
    }
    const call = connection.client.startRun({ spec }, connection.metadata);
    const outcome = await firstEvent(call);
    if (outcome.kind === "error") {
      connection.close();
      if (outcome.code === status.RESOURCE_EXHAUSTED || outcome.code === status.UNAVAILABLE) {
        lost.push(`${agent.name}: ${outcome.message}`);
        continue;
      }
      if (outcome.code === status.INVALID_ARGUMENT || outcome.code === status.ALREADY_EXISTS) throw new ExitError(ExitCode.Usage, `${agent.name}: ${outcome.message}`);
      throw new ExitError(ExitCode.RunFailed, `${agent.name}: ${outcome.message}`);
    }
    view.chosen(agent.name, candidate.reason);
    const replay = outcome.event;
    const session = runSession(
      { home, agent: agent.name, agentHost: agentHost(agent), connection, runId: replay.runId, runName: spec.name },
      call,
      { view, showCode: Boolean(options.code), detach: Boolean(options.detach) },
      replay,
    );
    const exit = await session;
    connection.close();
    return exit;
  }
  throw noCapacity(lost);
}

type FirstOutcome = { kind: "event"; event: RunEvent } | { kind: "error"; code: status; message: string };

function firstEvent(call: ClientReadableStream<RunEvent>): Promise<FirstOutcome> {
  return new Promise((resolve) => {
    const onData = (event: RunEvent) => {
      call.pause();
      call.off("data", onData);
      call.off("error", onError);
      resolve({ kind: "event", event });
    };
    const onError = (error: { code?: status; details?: string }) => {
      call.off("data", onData);
      resolve({ kind: "error", code: error.code ?? status.UNKNOWN, message: error.details ?? "StartRun failed" });
    };
    call.on("data", onData);
    call.on("error", onError);
  });
}


/** `<folder>-<4 hex>`: short enough to type as `ssh <run>`, unique enough across a fleet. */
function defaultRunName(dir: string): string {
  const base = (dir.split("/").pop() ?? "run").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 20) || "run";
  return `${/^[a-z0-9]/.test(base) ? base : "run"}-${randomBytes(2).toString("hex")}`;
}

function safeScope(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "local";
}
