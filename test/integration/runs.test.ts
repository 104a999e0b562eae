import { execa } from "execa";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { type ArtifactChunk } from "../../shared/gen/berth/v1/agent.js";
import { OutputStream, type RunEvent, RunState } from "../../shared/gen/berth/v1/run.js";
import {
  type RunAgent,
  dockerInspect,
  getRun,
  keypair,
  outputText,
  removeAgentContainers,
  requireRunImage,
  spec,
  sshRun,
  startRun,
  startRunAgent,
  stopRun,
  unary,
  waitForState,
} from "../support/runs.js";

let agent: RunAgent;
let key: { privateKey: string; publicKey: string };

beforeAll(async () => {
  await requireRunImage();
  key = await keypair();
  agent = await startRunAgent();
});
afterAll(async () => {
  await agent?.stop();
  if (agent) await removeAgentContainers(agent.name);
});

function inventory(): Promise<Inventory> {
  return unary((cb) => agent.connection.client.getInventory({ refresh: false }, agent.connection.metadata, cb));
}

describe("a run with setup, env and a working dir", () => {
  let started: Awaited<ReturnType<typeof startRun>>;
  beforeAll(async () => {
    started = await startRun(
      agent.connection,
      spec({
        name: "hello",
        setup: ["echo one", "echo two >&2", "for i in 3 4 5; do echo line-$i; done", "mkdir -p sub && echo made"],
        env: ["FOO=bar baz", "EMPTY="],
        workingDir: "src/app",
        authorizedKeys: [key.publicKey],
      }),
    );
  });

  it("streams the setup lines in order, then ready", () => {
    expect(started.terminal).toBeUndefined();
    const kinds = started.events.map((e) => (e.event?.$case === "state" ? RunState[e.event.value.state] : e.event?.$case));
    expect(kinds.filter((k) => k !== "output")).toEqual(["RUN_STATE_PENDING", "RUN_STATE_CREATING", "RUN_STATE_SETTING_UP", "ready"]);
    // Each stream keeps its order; across stdout and stderr Docker's two pipes give no order to keep.
    const text = (stream: OutputStream) =>
      started.events.map((e) => (e.event?.$case === "output" && e.event.value.stream === stream ? e.event.value.text : "")).join("");
    expect(text(OutputStream.OUTPUT_STREAM_STDOUT)).toBe("one\nline-3\nline-4\nline-5\nmade\n");
    expect(text(OutputStream.OUTPUT_STREAM_STDERR)).toBe("two\n");
    expect(started.events.at(-1)!.event?.$case).toBe("ready");
    // seq has no gaps.
    expect(started.events.map((e) => Number(e.seq))).toEqual(started.events.map((_, i) => i + 1));
    expect(started.ready).toMatchObject({ user: "root", workingDir: "/workflow/src/app" });
    expect(started.ready!.hostPublicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
  });

  it("the real ssh client logs in against the pinned host key and sees the working dir and env", async () => {
    const result = await sshRun(started.ready!, key.privateKey, 'pwd; echo "$FOO"; python3 --version');
    expect(result.stderr).not.toMatch(/WARNING|Host key verification failed/);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(["/workflow/src/app", "bar baz", expect.stringMatching(/^Python 3\.\d+\.\d+$/)]);
  });

  it("refuses a host key other than the run's own", async () => {
    const forged = { ...started.ready!, hostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" };
    const result = await sshRun(forged, key.privateKey, "true");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
  });

  it("WatchRun resumes after any seq with no gap and no duplicate", async () => {
    const all = await watch(started.runId, 0);
    expect(all.slice(0, started.events.length).map((e) => Number(e.seq))).toEqual(started.events.map((e) => Number(e.seq)));
    for (const after of [1, 3, all.length - 1]) {
      const rest = await watch(started.runId, after);
      expect(rest.map((e) => Number(e.seq))).toEqual(all.filter((e) => Number(e.seq) > after).map((e) => Number(e.seq)));
    }
    const byName = await watch("hello", 0);
    expect(byName.length).toBe(all.length);
  });

  it("is listed, and StopRun stops it, removes the container and frees it", async () => {
    const running = await waitForState(agent.connection, started.runId, RunState.RUN_STATE_RUNNING);
    const list = await unary<{ runs: { id: string }[] }>((cb) => agent.connection.client.listRuns({ all: false }, agent.connection.metadata, cb));
    expect(list.runs.map((r) => r.id)).toContain(started.runId);
    const t0 = Date.now();
    const stopped = await stopRun(agent.connection, started.runId);
    expect(Date.now() - t0).toBeLessThan(5000); // SIGTERM is handled: no wait for the kill timeout
    expect(stopped).toMatchObject({ state: RunState.RUN_STATE_STOPPED, reason: "stopped" });
    const gone = await execa("docker", ["inspect", running.containerId], { reject: false });
    expect(gone.exitCode).not.toBe(0);
    const tail = await watch(started.runId, Number(stopped.lastSeq) - 2);
    expect(tail.map((e) => (e.event?.$case === "state" ? RunState[e.event.value.state] : e.event?.$case))).toEqual(["RUN_STATE_STOPPING", "RUN_STATE_STOPPED"]);
  });
});

describe("a failing setup", () => {
  it("fails with the exit code and the last lines, and the ledger is free again", async () => {
    const started = await startRun(
      agent.connection,
      spec({ setup: ["echo before", "echo oops >&2; exit 7", "echo never"], resources: { cpu: 1, memory: "256MB" } as never, authorizedKeys: [key.publicKey] }),
    );
    expect(started.terminal).toMatchObject({ state: RunState.RUN_STATE_FAILED, reason: "setup_failed" });
    expect(started.terminal!.message).toMatch(/^setup failed with exit code 7; last lines:\n/);
    expect(started.terminal!.message.split("\n").slice(1).sort()).toEqual(["before", "oops"]);
    expect(outputText(started.events)).not.toContain("never");
    const inv = await inventory();
    expect(inv.cpu!.allocatedCores).toBe(0);
    expect(inv.memory!.bytesAllocated).toBe(0n);
    expect(inv.activeRuns).toBe(0);
  });
});

describe("cache and artifacts", () => {
  it("keeps the cache between runs", async () => {
    const cacheSpec = { cache: [{ path: "cache/pip" }, { path: "~/.cache/huggingface" }], authorizedKeys: [key.publicKey], repo: "demo" };
    const first = await startRun(
      agent.connection,
      spec({ ...cacheSpec, setup: ["echo from-first > cache/pip/marker", "echo hf > ~/.cache/huggingface/model"] }),
    );
    expect(first.ready).toBeDefined();
    await stopRun(agent.connection, first.runId);
    const second = await startRun(
      agent.connection,
      spec({ ...cacheSpec, setup: ["cat cache/pip/marker", "cat ~/.cache/huggingface/model"] }),
    );
    expect(second.ready).toBeDefined();
    expect(outputText(second.events)).toBe("from-first\nhf\n");
    await stopRun(agent.connection, second.runId);
  });

  it("a mount:true artifact shows on the host while the run is live; one without mount is copied at stop", async () => {
    const started = await startRun(
      agent.connection,
      spec({
        artifacts: [{ path: "checkpoints", mount: true }, { path: "out/results", mount: false }],
        setup: ["mkdir -p out/results && echo 42 > out/results/answer.txt"],
        authorizedKeys: [key.publicKey],
      }),
    );
    expect(started.ready).toBeDefined();
    const artifacts = join(agent.dataDir, "runs", started.runId, "artifacts");
    const write = await sshRun(started.ready!, key.privateKey, "echo step-1 > /workflow/checkpoints/ckpt.txt");
    expect(write.exitCode).toBe(0);
    expect(readFileSync(join(artifacts, "checkpoints", "ckpt.txt"), "utf8")).toBe("step-1\n");
    expect(existsSync(join(artifacts, "out", "results", "answer.txt"))).toBe(false);

    await stopRun(agent.connection, started.runId);
    expect(readFileSync(join(artifacts, "out", "results", "answer.txt"), "utf8")).toBe("42\n");

    const listed = await unary<{ files: { path: string; size: bigint }[] }>((cb) =>
      agent.connection.client.listArtifacts({ run: started.runId }, agent.connection.metadata, cb),
    );
    expect(listed.files.map((f) => [f.path, Number(f.size)])).toEqual([
      ["checkpoints/ckpt.txt", 7],
      ["out/results/answer.txt", 3],
    ]);
    const chunks: ArtifactChunk[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = agent.connection.client.downloadArtifacts({ run: started.runId, path: "out" }, agent.connection.metadata);
      call.on("data", (chunk: ArtifactChunk) => chunks.push(chunk));
      call.on("end", resolve);
      call.on("error", reject);
    });
    expect(chunks[0]!.file!.path).toBe("out/results/answer.txt");
    expect(Buffer.concat(chunks.map((c) => c.data)).toString()).toBe("42\n");

    const escape = await new Promise<any>((resolve) => {
      const call = agent.connection.client.downloadArtifacts({ run: started.runId, path: "../../etc" }, agent.connection.metadata);
      call.on("data", () => {});
      call.on("error", resolve);
      call.on("end", () => resolve(undefined));
    });
    expect(escape?.code).toBe(3);
    expect(escape.details).toMatch(/^path: expected a relative path inside \/workflow, got "\.\.\/\.\.\/etc"/);
  });
});

describe("container settings", () => {
  it("limits, shm, labels, published ports and no privileges show in docker inspect", async () => {
    const started = await startRun(
      agent.connection,
      spec({
        resources: { cpu: 1.5, memory: "512MB", shmSize: "256MB" } as never,
        ports: ["8000", "9001:9090"],
        authorizedKeys: [key.publicKey],
        owner: "alice",
      }),
    );
    expect(started.ready).toBeDefined();
    const run = await getRun(agent.connection, started.runId);
    const info = await dockerInspect(run.containerId);
    expect(info.HostConfig.NanoCpus).toBe(1.5e9);
    expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(info.HostConfig.Tmpfs["/dev/shm"]).toBe(`rw,exec,nosuid,nodev,size=${256 * 1024 * 1024}`);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    expect(info.Config.Labels).toMatchObject({ "berth.run-id": run.id, "berth.owner": "local", "berth.cpu": "1.5" });
    expect(info.Config.Labels["berth.spec-hash"]).toMatch(/^[0-9a-f]{16}$/);
    for (const port of ["10022/tcp", "8000/tcp", "9090/tcp"]) {
      expect(info.HostConfig.PortBindings[port]).toEqual([{ HostIp: "127.0.0.1", HostPort: "" }]);
      expect(info.NetworkSettings.Ports[port][0].HostIp).toBe("127.0.0.1");
    }
    expect(started.ready!.ports.map((p) => [p.container, p.local])).toEqual([
      [8000, 8000],
      [9090, 9001],
    ]);
    const shm = await sshRun(started.ready!, key.privateKey, "df -k /dev/shm | tail -1 | awk '{print $2}'");
    expect(Number(shm.stdout.trim())).toBe(256 * 1024);
    const inv = await inventory();
    expect(inv.cpu!.allocatedCores).toBe(1.5);
    await stopRun(agent.connection, started.runId);
    expect((await inventory()).cpu!.allocatedCores).toBe(0);
  });
});

describe("validation at the RPC boundary", () => {
  it.each([
    [{ workingDir: "../../etc" }, 'working_dir: expected a relative path inside /workflow, got "../../etc"'],
    [{ artifacts: [{ path: "/etc/passwd", mount: true }] }, 'artifacts[0].path: expected a relative path inside /workflow, got "/etc/passwd"'],
    [{ cache: [{ path: "~/../../root" }] }, 'cache[0].path: expected a folder under ~/, got "~/../../root"'],
    [{ ports: ["70000"] }, 'ports[0]: expected PORT or LOCAL:CONTAINER with ports from 1 to 65535, e.g. "8080" or "8080:9090", got "70000"'],
    [{ ports: ["8080", "10022"] }, 'ports[1]: expected a port other than 10022 (reserved for the run\'s sshd), got "10022"'],
    [{ ports: ["8080", "8080"] }, 'ports[1]: expected a port not already listed, got "8080"'],
    [{ env: ["1BAD=x"] }, 'env[0]: expected KEY=VALUE with KEY a letter or _ followed by letters, digits or _, got "1BAD=x"'],
    [{ env: ["NOVALUE"] }, 'env[0]: expected KEY=VALUE'],
    [{ resources: { memory: "lots" } }, 'resources.memory: expected a size such as "512MB", "16GB" or "1.5TB", got "lots"'],
    [{ resources: { shmSize: "-1" } }, "resources.shm_size: expected a size"],
    [{ authorizedKeys: ["not a key"] }, 'authorized_keys[0]: expected an OpenSSH public key line, got "not a key"'],
  ])("%j → INVALID_ARGUMENT", async (partial, message) => {
    const error = await startRun(agent.connection, spec(partial as never)).then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
    expect(error?.code).toBe(3);
    expect(error!.details).toContain(message);
    expect((await inventory()).activeRuns).toBe(0);
  });

  it("a run name in use is ALREADY_EXISTS", async () => {
    const first = await startRun(agent.connection, spec({ name: "twin", authorizedKeys: [key.publicKey] }));
    const error = await startRun(agent.connection, spec({ name: "twin" })).then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
    expect(error?.code).toBe(6);
    await stopRun(agent.connection, first.runId);
  });

  it("a missing image that cannot be pulled fails naming the image and the command that builds it", async () => {
    const started = await startRun(agent.connection, spec({ python: "3.99", image: "" }), { timeoutMs: 120_000 });
    // The catalogue of this test agent maps everything to the offline image, so name one explicitly instead.
    expect(started.terminal ?? started.ready).toBeDefined();
    if (started.ready) await stopRun(agent.connection, started.runId);
    const missing = await startRun(agent.connection, spec({ image: "berth/offline:does-not-exist" }), { timeoutMs: 120_000 });
    expect(missing.terminal).toMatchObject({ state: RunState.RUN_STATE_FAILED, reason: "image_unavailable" });
    expect(missing.terminal!.message).toContain("image berth/offline:does-not-exist is not on this agent and could not be pulled");
    expect(missing.terminal!.message).toContain("berth-agent image build --offline --tag berth/offline:does-not-exist");
    expect(missing.events.map((e) => (e.event?.$case === "state" ? RunState[e.event.value.state] : ""))).toContain("RUN_STATE_PULLING");
  });
});

function watch(run: string, afterSeq: number): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RunEvent[] = [];
    const call = agent.connection.client.watchRun({ run, afterSeq: BigInt(afterSeq), follow: false }, agent.connection.metadata);
    call.on("data", (event: RunEvent) => events.push(event));
    call.on("end", () => resolve(events));
    call.on("error", reject);
  });
}
