import { execa } from "execa";
import { readFile, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientReadableStream } from "@grpc/grpc-js";
import { type AgentConnection, connectAgent } from "../client/fleet/connect.js";
import { type Ready, type RunEvent, RunSpec } from "../shared/gen/berth/v1/run.js";
import { type BenchAgent, startBenchAgent } from "./support.js";

export const IMAGE = "berth/offline:bookworm";

export interface RunBenchAgent extends BenchAgent {
  connection: AgentConnection;
  dataDir: string;
}

/** A real agent whose runs use the offline image and publish on loopback. */
export async function startRunBenchAgent(): Promise<RunBenchAgent> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-run-"));
  const config = join(dir, "agent.yaml");
  await writeFile(config, `sample_period: 1h\npublish_address: 127.0.0.1\nimages:\n  cpu: ${IMAGE}\n  gpu: ${IMAGE}\nstop_timeout: 2s\n`);
  const agent = await startBenchAgent(`bench${process.pid}`, config, join(dir, "data"));
  const token = (await readFile(join(dir, "data", "local.token"), "utf8")).trim();
  const connection = await connectAgent(
    { name: agent.name, address: agent.address, token, fingerprint: agent.fingerprint },
    await mkdtemp(join(tmpdir(), "berth-bench-home-")),
    new Date(Date.now() + 5000),
  );
  return { ...agent, connection, dataDir: join(dir, "data") };
}

export async function keypair(): Promise<{ privateKey: string; publicKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-key-"));
  const privateKey = join(dir, "id");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, "utf8")).trim() };
}

export function startRunCall(connection: AgentConnection, spec: Partial<RunSpec>): ClientReadableStream<RunEvent> {
  return connection.client.startRun({ spec: RunSpec.fromPartial(spec) }, connection.metadata);
}

export function untilReady(call: ClientReadableStream<RunEvent>, onEvent: (event: RunEvent) => void = () => {}): Promise<{ ready: Ready; runId: string }> {
  return new Promise((resolve, reject) => {
    call.on("data", (event: RunEvent) => {
      onEvent(event);
      if (event.event?.$case === "ready") resolve({ ready: event.event.value, runId: event.runId });
      if (event.event?.$case === "state" && event.event.value.reason) reject(new Error(`run ended: ${event.event.value.message}`));
    });
    call.on("error", (error: { code?: number; details?: string }) => {
      if (error.code !== 1) reject(new Error(error.details ?? "StartRun failed"));
    });
  });
}

/** ssh until a login works; returns when it did. */
export async function pollSsh(port: number, privateKey: string, knownHostsArgs: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await execa(
      "ssh",
      ["-F", "/dev/null", "-i", privateKey, "-p", String(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", ...knownHostsArgs, "root@127.0.0.1", "true"],
      { reject: false },
    );
    if (result.exitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`ssh never succeeded: ${String(result.stderr)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}
