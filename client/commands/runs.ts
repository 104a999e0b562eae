import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { status } from "@grpc/grpc-js";
import type { Command } from "commander";
import type { ArtifactChunk } from "../../shared/gen/berth/v1/agent.js";
import { type Run, type RunEvent, RunState } from "../../shared/gen/berth/v1/run.js";
import { parseDuration } from "../../shared/durations.js";
import { ValidationError } from "../../shared/errors.js";
import { ExitCode } from "../exit.js";
import { connectAgent } from "../fleet/connect.js";
import { type FleetAgent, agentHost, loadFleet } from "../fleet/store.js";
import { berthHome } from "../home.js";
import { runStateName as stateName } from "../../shared/run-state.js";
import { type RunView, createRunView } from "../render/run-view.js";
import { formatTable } from "../render/table.js";
import { locateRun } from "../runs/locate.js";
import { forgetRun } from "../runs/records.js";
import { removeRunHost } from "../ssh/config-files.js";

interface Output {
  out(text: string): void;
}

const TIMEOUT = "2s";

export function registerRunsCommands(program: Command, io: Output): void {
  program
    .command("ps")
    .description("runs across the fleet: name, agent, state, GPUs, ports, age")
    .option("-a, --all", "include stopped and failed runs")
    .option("--json", "print JSON")
    .option("--timeout <duration>", "per-agent deadline", TIMEOUT)
    .action(async (options: { all?: boolean; json?: boolean; timeout: string }) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const timeoutMs = parseDuration(options.timeout, "--timeout");
      const results = await Promise.all(agents.map((agent) => listRuns(agent, home, Boolean(options.all), timeoutMs)));
      const rows = results.flatMap((result) => result.runs.map((run) => ({ agent: result.agent.name, run })));
      if (options.json) {
        io.out(JSON.stringify({ runs: rows.map(({ agent, run }) => ({ agent, ...runJson(run) })), errors: results.filter((r) => r.error).map((r) => ({ agent: r.agent.name, error: r.error })) }));
      } else {
        io.out(
          formatTable(
            ["NAME", "AGENT", "STATE", "GPUS", "PORTS", "AGE"],
            rows.map(({ agent, run }) => [
              run.name,
              agent,
              stateName(run.state) + (run.reason && run.state === RunState.RUN_STATE_FAILED ? ` (${run.reason})` : ""),
              String(run.gpuUuids.length),
              (run.ready?.ports ?? []).map((p) => `${p.container}→${p.local}`).join(",") || "-",
              age(run.createdAt),
            ]),
          ),
        );
        for (const result of results) if (result.error) process.stderr.write(`berth: ${result.agent.name}: ${result.error}\n`);
      }
      if (agents.length > 0 && results.every((r) => r.error)) process.exitCode = ExitCode.NoAgentReachable;
    });

  program
    .command("logs <run>")
    .description("the run's output and state changes; -f follows, resuming without gaps across agent restarts")
    .option("-f, --follow", "keep following")
    .action(async (ref: string, options: { follow?: boolean }) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const located = await locateRun(ref, agents, home, 5000);
      const view = createRunView("text");
      let lastSeq = 0;
      for (;;) {
        const outcome = await new Promise<"done" | "retry">((resolve, reject) => {
          const call = located.connection.client.watchRun({ run: located.run.id, afterSeq: BigInt(lastSeq), follow: Boolean(options.follow) }, located.connection.metadata);
          call.on("data", (event: RunEvent) => {
            lastSeq = Number(event.seq);
            if (event.event?.$case === "output" || event.event?.$case === "state") view.event(event);
          });
          call.on("end", () => resolve("done"));
          call.on("error", (error: { code?: number; details?: string }) => {
            if (error.code === status.UNAVAILABLE && options.follow) resolve("retry");
            else reject(new Error(error.details ?? "WatchRun failed"));
          });
        });
        if (outcome === "done") return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  program
    .command("stop <run>")
    .description("stop a run (SIGTERM, then SIGKILL), copy its artifacts out, free its resources")
    .option("--abort", "kill it at once")
    .action(async (ref: string, options: { abort?: boolean }) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const located = await locateRun(ref, agents, home, 5000);
      const stopped = await new Promise<Run>((resolve, reject) =>
        located.connection.client.stopRun({ run: located.run.id, timeoutSeconds: 0, abort: Boolean(options.abort) }, located.connection.metadata, (error, run) =>
          error ? reject(new Error(error.details)) : resolve(run),
        ),
      );
      await removeRunHost(home, located.run.name);
      await forgetRun(home, located.run.name);
      located.connection.close();
      io.out(`${located.run.name} ${stateName(stopped.state)}${stopped.message ? `: ${stopped.message}` : ""}`);
    });

  program
    .command("attach <run>")
    .description("attach to a running run: forward its ports and follow its output")
    .option("--code", "print the VS Code URI")
    .option("--json", "JSON lines")
    .action(async (ref: string, options: { code?: boolean; json?: boolean }) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const located = await locateRun(ref, agents, home, 5000);
      const view = createRunView(options.json ? "json" : "text");
      if (located.run.state !== RunState.RUN_STATE_RUNNING) {
        throw new ValidationError("RUN", "a running run", `${located.run.name} (${stateName(located.run.state)})`);
      }
      // From the event before ready, so the session sees ready (and writes the ssh entry) again.
      const call = located.connection.client.watchRun({ run: located.run.id, afterSeq: 0n, follow: true }, located.connection.metadata);
      const quiet: RunView = {
        chosen: (agent, reason) => view.chosen(agent, reason),
        event: (event) => (Number(event.seq) > Number(located.run.lastSeq) ? view.event(event) : undefined),
        ready: (info, showCode) => view.ready(info, showCode),
        note: (text) => view.note(text),
        failed: (message) => view.failed(message),
      };
      const { runSession } = await import("../runs/session.js");
      process.exitCode = await runSession(
        { home, agent: located.agent.name, agentHost: agentHost(located.agent), connection: located.connection, runId: located.run.id, runName: located.run.name },
        call,
        { view: quiet, showCode: Boolean(options.code), detach: false },
      );
    });

  const artifacts = program.command("artifacts").description("a run's output artifacts");
  artifacts
    .command("ls <run>")
    .description("list artifact files")
    .action(async (ref: string) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const located = await locateRun(ref, agents, home, 5000);
      const files = await new Promise<{ path: string; size: bigint }[]>((resolve, reject) =>
        located.connection.client.listArtifacts({ run: located.run.id }, located.connection.metadata, (error, response) =>
          error ? reject(new Error(error.details)) : resolve(response.files),
        ),
      );
      io.out(formatTable(["PATH", "SIZE"], files.map((f) => [f.path, String(f.size)])));
    });
  artifacts
    .command("download <run> [path]")
    .description("download artifacts (all, or PATH) into DIR")
    .requiredOption("-o, --output <dir>", "where to put them")
    .action(async (ref: string, path: string | undefined, options: { output: string }) => {
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const located = await locateRun(ref, agents, home, 5000);
      const root = resolve(options.output);
      let count = 0;
      await new Promise<void>((done, reject) => {
        const call = located.connection.client.downloadArtifacts({ run: located.run.id, path: path ?? "" }, located.connection.metadata);
        let current: string | undefined;
        let chain = Promise.resolve();
        call.on("data", (chunk: ArtifactChunk) => {
          if (chunk.file) {
            const target = resolve(root, chunk.file.path);
            // The agent's paths are relative and checked there too; never write outside DIR.
            if (!target.startsWith(root + sep)) {
              call.cancel();
              reject(new Error(`refusing to write ${chunk.file.path} outside ${root}`));
              return;
            }
            current = target;
            count++;
            const file = target;
            chain = chain.then(async () => {
              await mkdir(dirname(file), { recursive: true });
              await writeFile(file, chunk.data);
            });
          } else if (current) {
            const file = current;
            chain = chain.then(() => writeFile(file, chunk.data, { flag: "a" }));
          }
        });
        call.on("end", () => {
          chain.then(done, reject);
        });
        call.on("error", (error: { details?: string }) => reject(new Error(error.details ?? "download failed")));
      });
      io.out(`downloaded ${count} file${count === 1 ? "" : "s"} to ${join(root)}`);
    });
}

async function listRuns(agent: FleetAgent, home: string, all: boolean, timeoutMs: number): Promise<{ agent: FleetAgent; runs: Run[]; error: string }> {
  try {
    const deadline = new Date(Date.now() + timeoutMs);
    const connection = await connectAgent(agent, home, deadline);
    try {
      const runs = await new Promise<Run[]>((resolve, reject) =>
        connection.client.listRuns({ all }, connection.metadata, { deadline }, (error, response) => (error ? reject(error) : resolve(response.runs))),
      );
      return { agent, runs, error: "" };
    } finally {
      connection.close();
    }
  } catch (error) {
    return { agent, runs: [], error: (error as { details?: string }).details ?? (error as Error).message };
  }
}

function runJson(run: Run): object {
  return {
    id: run.id,
    name: run.name,
    state: stateName(run.state),
    reason: run.reason,
    message: run.message,
    gpus: run.gpuUuids,
    ports: (run.ready?.ports ?? []).map((p) => ({ container: p.container, local: p.local })),
    createdAt: run.createdAt?.toISOString(),
  };
}

function age(created: Date | undefined): string {
  if (!created) return "-";
  const seconds = Math.max(0, Math.round((Date.now() - created.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

