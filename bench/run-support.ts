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

/**
 * The baseline both run benchmarks compare against: `docker run` of the same
 * image starting sshd by hand, polled with ssh until a login works. Returns
 * the milliseconds from `docker run` to the first login.
 */
export async function bareSshdLogin(key: { privateKey: string; publicKey: string }): Promise<number> {
  const script = [
    "mkdir -p /run/sshd /root/.ssh",
    `echo '${key.publicKey}' > /root/.ssh/authorized_keys`,
    "ssh-keygen -q -t ed25519 -N '' -f /run/hostkey",
    "exec /usr/sbin/sshd -D -e -p 10022 -h /run/hostkey -o PasswordAuthentication=no",
  ].join(" && ");
  const started = performance.now();
  const run = await execa("docker", ["run", "-d", "--rm", "-p", "127.0.0.1::10022", IMAGE, "sh", "-c", script]);
  const id = String(run.stdout).trim();
  const port = Number(String((await execa("docker", ["port", id, "10022/tcp"])).stdout).split(":").pop());
  // The baseline cannot pin a key it never saw; only this benchmark ever skips the check.
  await pollSsh(port, key.privateKey, ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR"]);
  const elapsed = performance.now() - started;
  await execa("docker", ["rm", "-f", id]);
  return elapsed;
}
