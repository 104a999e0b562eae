import { execa } from "execa";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ClientReadableStream, type ServiceError, status } from "@grpc/grpc-js";
import { type AgentConnection, connectAgent } from "../../client/fleet/connect.js";
import { type Ready, type Run, type RunEvent, RunSpec, RunState } from "../../shared/gen/berth/v1/run.js";
import { type AgentOptions, type AgentProcess, startAgent, tempDir } from "./processes.js";

/** The image the tests run: the offline base image, built by scripts/test.sh with `berth-agent image build --offline`. */
export const RUN_IMAGE = "berth/offline:bookworm";

export async function requireRunImage(): Promise<void> {
  const result = await execa("docker", ["image", "inspect", RUN_IMAGE], { reject: false });
  if (result.exitCode !== 0) {
    throw new Error(`the test image ${RUN_IMAGE} is missing: run \`node dist/agent/main.js image build --offline\` (scripts/test.sh does)`);
  }
}

export interface RunAgent extends AgentProcess {
  name: string;
  connection: AgentConnection;
  reconnect(): Promise<void>;
}

/** A real agent set up for runs: images from the offline build, ports published on loopback only. */
export async function startRunAgent(options: AgentOptions & { extraConfig?: string; name?: string } = {}): Promise<RunAgent> {
  const dir = await tempDir("cfg");
  const config = join(dir, "agent.yaml");
  await writeFile(
    config,
    `publish_address: 127.0.0.1\nimages:\n  cpu: ${RUN_IMAGE}\n  gpu: ${RUN_IMAGE}\nstop_timeout: 5s\n${options.extraConfig?.includes("orphan_grace") ? "" : "orphan_grace: 1h\n"}${options.extraConfig ?? ""}`,
  );
  const name = options.name ?? `t${Math.random().toString(36).slice(2, 8)}`;
  const agent = await startAgent({ ...options, args: ["--config", config, "--name", name, ...(options.args ?? [])] });
  const runAgent = agent as RunAgent;
  runAgent.name = name;
  runAgent.reconnect = async () => {
    const token = (await readFile(join(agent.dataDir, "local.token"), "utf8")).trim();
    runAgent.connection = await connectAgent(
      { name, address: agent.address, token, fingerprint: agent.fingerprint! },
      await tempDir("home"),
      new Date(Date.now() + 5000),
    );
  };
  await runAgent.reconnect();
  return runAgent;
}

export async function keypair(): Promise<{ privateKey: string; publicKey: string }> {
  const dir = await tempDir("key");
  const privateKey = join(dir, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, "utf8")).trim() };
}

export function spec(partial: Partial<RunSpec>): RunSpec {
  return RunSpec.fromPartial(partial);
}

export interface StartedRun {
  events: RunEvent[];
  ready: Ready | undefined;
  runId: string;
  /** The terminal state change, when the run ended before ready. */
  terminal: { state: RunState; reason: string; message: string } | undefined;
  call: ClientReadableStream<RunEvent>;
}

/** Calls StartRun and collects events until ready or a terminal state; the stream stays open unless `cancel`. */
export function startRun(connection: AgentConnection, runSpec: RunSpec, options: { cancel?: boolean; timeoutMs?: number } = {}): Promise<StartedRun> {
  const call = connection.client.startRun({ spec: runSpec }, connection.metadata);
  const events: RunEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      call.cancel();
      reject(new Error(`run did not become ready in time; events: ${JSON.stringify(events.map(describe))}`));
    }, options.timeoutMs ?? 60_000);
    const finish = (result: Omit<StartedRun, "events" | "call" | "runId">) => {
      clearTimeout(timer);
      if (options.cancel !== false) call.cancel();
      resolve({ ...result, events, call, runId: events[0]?.runId ?? "" });
    };
    call.on("data", (event: RunEvent) => {
      events.push(event);
      if (event.event?.$case === "ready") finish({ ready: event.event.value, terminal: undefined });
      if (event.event?.$case === "state" && [RunState.RUN_STATE_FAILED, RunState.RUN_STATE_STOPPED].includes(event.event.value.state)) {
        finish({ ready: undefined, terminal: event.event.value });
      }
    });
    call.on("error", (error: ServiceError) => {
      clearTimeout(timer);
      if (error.code === status.CANCELLED) return; // our own cancel
      reject(error);
    });
  });
}

export function describe(event: RunEvent): string {
  switch (event.event?.$case) {
    case "state":
      return `${event.seq}:state:${RunState[event.event.value.state]}`;
    case "output":
      return `${event.seq}:output:${event.event.value.text}`;
    case "ready":
      return `${event.seq}:ready`;
    case "pull":
      return `${event.seq}:pull`;
    default:
      return `${event.seq}:?`;
  }
}

export function outputText(events: RunEvent[]): string {
  return events.map((e) => (e.event?.$case === "output" ? e.event.value.text : "")).join("");
}

export function unary<Res>(invoke: (callback: (error: ServiceError | null, response: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response))));
}

export function getRun(connection: AgentConnection, run: string): Promise<Run> {
  return unary((cb) => connection.client.getRun({ run }, connection.metadata, cb));
}

export function stopRun(connection: AgentConnection, run: string, abort = false): Promise<Run> {
  return unary((cb) => connection.client.stopRun({ run, timeoutSeconds: 5, abort }, connection.metadata, cb));
}

export async function waitForState(connection: AgentConnection, run: string, state: RunState, timeoutMs = 30_000): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await getRun(connection, run);
    if (current.state === state) return current;
    if (Date.now() > deadline) throw new Error(`run ${run} is ${RunState[current.state]}, not ${RunState[state]} (${current.message})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Logs into the run with the real OpenSSH client, trusting only the host key the agent reported. */
export async function sshRun(ready: Ready, privateKey: string, command: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const dir = await tempDir("ssh");
  const knownHosts = join(dir, "known_hosts");
  await writeFile(knownHosts, `[127.0.0.1]:${ready.sshPort} ${ready.hostPublicKey}\n`);
  const result = await execa(
    "ssh",
    [
      "-F", "/dev/null",
      "-i", privateKey,
      "-p", String(ready.sshPort),
      "-o", `UserKnownHostsFile=${knownHosts}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "IdentitiesOnly=yes",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=10",
      `${ready.user}@127.0.0.1`,
      command,
    ],
    { reject: false, timeout: 30_000 },
  );
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export async function dockerInspect(containerId: string): Promise<any> {
  const result = await execa("docker", ["inspect", containerId]);
  return (JSON.parse(String(result.stdout)) as unknown[])[0];
}

/** Removes every container an agent of this name created (tests leave nothing behind). */
export async function removeAgentContainers(agentName: string): Promise<void> {
  const list = await execa("docker", ["ps", "-aq", "--filter", `label=berth.agent=${agentName}`]);
  const ids = String(list.stdout).split("\n").filter(Boolean);
  if (ids.length > 0) await execa("docker", ["rm", "-f", ...ids], { reject: false });
}
