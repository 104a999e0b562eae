import { type ResultPromise, execa } from "execa";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FAKE_BIN, REPO_ROOT } from "./fixtures.js";

export const AGENT_BIN = join(REPO_ROOT, "dist", "agent", "main.js");
// The shipped CLI: the single-file bundle that `berth` runs.
export const CLIENT_BIN = join(REPO_ROOT, "dist", "berth.mjs");

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `berth-${prefix}-`));
}

export interface AgentProcess {
  dataDir: string;
  /** HOST:PORT actually bound. */
  address: string;
  port: number;
  fingerprint: string | undefined;
  process: ResultPromise;
  logs: () => string;
  stop(): Promise<void>;
}

export interface AgentOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Replay this nvidia-smi fixture through the fake nvidia-smi on PATH. */
  gpuFixture?: string;
  dataDir?: string;
}

/** Starts the real berth-agent binary on an ephemeral loopback port and waits until it serves. */
export async function startAgent(options: AgentOptions = {}): Promise<AgentProcess> {
  const dataDir = options.dataDir ?? (await tempDir("agent"));
  const env: Record<string, string> = { ...options.env };
  if (options.gpuFixture) {
    env["PATH"] = `${FAKE_BIN}:${process.env["PATH"]}`;
    env["FAKE_NVIDIA_SMI_FIXTURE"] = options.gpuFixture;
  } else if (!env["PATH"]) {
    // No nvidia-smi on PATH at all, as on a host without GPUs.
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  }
  const child = execa("node", [AGENT_BIN, "--listen", "127.0.0.1:0", "--data-dir", dataDir, ...(options.args ?? [])], {
    env,
    extendEnv: true,
    reject: false,
    all: true,
    buffer: false,
  });
  let output = "";
  const serving = new Promise<{ listen: string; fingerprint?: string }>((resolve, reject) => {
    child.all.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split("\n")) {
        if (line.includes('"berth-agent is serving"')) resolve(JSON.parse(line) as { listen: string; fingerprint?: string });
      }
    });
    void child.then((result) => reject(new Error(`agent exited (${result.exitCode}) before serving:\n${output}`)));
  });
  const ready = await Promise.race([
    serving,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent did not serve in 20 s:\n${output}`)), 20_000)),
  ]);
  const port = Number(ready.listen.split(":").pop());
  return {
    dataDir,
    address: ready.listen,
    port,
    fingerprint: ready.fingerprint,
    process: child,
    logs: () => output,
    async stop() {
      child.kill("SIGTERM");
      await child;
    },
  };
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs the real `berth` CLI. */
export async function berth(args: string[], env: Record<string, string>, timeoutMs = 30_000, cwd?: string): Promise<CliResult> {
  const started = performance.now();
  const result = await execa("node", [CLIENT_BIN, ...args], { env, extendEnv: true, reject: false, timeout: timeoutMs, ...(cwd ? { cwd } : {}) });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    durationMs: performance.now() - started,
  };
}

/** Runs a one-shot berth-agent subcommand (token create, image build, ...). */
export async function agentCommand(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = performance.now();
  const result = await execa("node", [AGENT_BIN, ...args], { env, extendEnv: true, reject: false, timeout: 30_000 });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    durationMs: performance.now() - started,
  };
}

/** Issues a token on the agent and adds it to the client's fleet under `name`. */
export async function enroll(agent: AgentProcess, name: string, home: string): Promise<string> {
  const created = await agentCommand(["token", "create", "tester", "--data-dir", agent.dataDir]);
  if (created.exitCode !== 0) throw new Error(`token create failed: ${created.stderr}`);
  const token = /--token (\S+)/.exec(created.stdout)![1]!;
  const fingerprint = /--fingerprint (\S+)/.exec(created.stdout)![1]!;
  const added = await berth(["fleet", "add", name, agent.address, "--token", token, "--fingerprint", fingerprint], { BERTH_HOME: home });
  if (added.exitCode !== 0) throw new Error(`fleet add failed: ${added.stderr}`);
  return token;
}
