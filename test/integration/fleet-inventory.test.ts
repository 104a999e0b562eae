import { createServer, type Server } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, agentCommand, berth, enroll, startAgent, tempDir } from "../support/processes.js";

interface FleetJson {
  agents: { name: string; address: string; status: string; error: string; inventory: Record<string, any> | null }[];
}

async function fleetLs(home: string, extra: string[] = []): Promise<{ json: FleetJson; exitCode: number; durationMs: number; stderr: string }> {
  const result = await berth(["fleet", "ls", "--json", ...extra], { BERTH_HOME: home });
  return { json: JSON.parse(result.stdout) as FleetJson, exitCode: result.exitCode, durationMs: result.durationMs, stderr: result.stderr };
}

const started: AgentProcess[] = [];
async function agent(options: Parameters<typeof startAgent>[0] = {}): Promise<AgentProcess> {
  const process = await startAgent(options);
  started.push(process);
  return process;
}
afterAll(async () => {
  await Promise.all(started.map((a) => a.stop()));
});

describe("an agent replaying a real H100 MIG capture, queried by `berth fleet ls --json`", () => {
  let home: string;
  beforeAll(async () => {
    home = await tempDir("home");
    const gpuAgent = await agent({ gpuFixture: "h100-mig", args: ["--name", "gpu-1"] });
    await enroll(gpuAgent, "gpu-1", home);
  });

  it("reports the fixture's GPU, its MIG slices and the driver", async () => {
    const { json, exitCode } = await fleetLs(home);
    expect(exitCode).toBe(0);
    const [entry] = json.agents;
    expect(entry).toMatchObject({ name: "gpu-1", status: "ok", error: "" });
    const inventory = entry!.inventory!;
    expect(inventory["agent"]).toMatchObject({ name: "gpu-1", version: "0.1.0" });
    expect(inventory["gpuDriver"]).toMatchObject({ vendor: "nvidia", driverVersion: "590.48.01", healthy: true });
    expect(inventory["gpus"]).toHaveLength(1);
    expect(inventory["gpus"][0]).toMatchObject({
      uuid: "GPU-00000000-0000-0000-0000-000000000000",
      name: "NVIDIA H100 80GB HBM3",
      memoryMibTotal: 81559,
      memoryMibUsed: 59,
      temperatureC: 42,
      powerDrawW: 71.15,
      pciBusId: "00000000:00:09.0",
      migEnabled: true,
    });
    // utilization.gpu is [N/A] under MIG: absent, not 0.
    expect(inventory["gpus"][0]).not.toHaveProperty("utilizationPct");
    expect(inventory["gpus"][0].migDevices.map((d: { profile: string }) => d.profile)).toEqual(["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]);
    // proto3 JSON: 64-bit integers are strings, timestamps RFC 3339.
    expect(inventory["memory"].bytesTotal).toMatch(/^\d+$/);
    expect(Number(inventory["cpu"].cores)).toBeGreaterThan(0);
    expect(inventory["disk"].path).toBeTruthy();
    expect(new Date(inventory["sampledAt"]).getTime()).toBeGreaterThan(Date.now() - 120_000);
    expect(inventory["docker"].healthy).toBe(true);
  });

  it("`fleet show` prints every GPU in detail", async () => {
    const result = await berth(["fleet", "show", "gpu-1"], { BERTH_HOME: home });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("NVIDIA H100 80GB HBM3");
    expect(result.stdout).toContain("GPU-00000000-0000-0000-0000-000000000000");
    expect(result.stdout).toContain("MIG: 3g.40gb, 2g.20gb, 1g.10gb, 1g.10gb");
    expect(result.stdout).toMatch(/59\/81559 MiB/);
  });

  it("the table summarizes GPUs by model", async () => {
    const result = await berth(["fleet", "ls"], { BERTH_HOME: home });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/gpu-1\s+ok\s+.*1× NVIDIA H100 80GB HBM3 \(1\/1 free\)\s+590\.48\.01\s+0/);
  });
});

describe("the other GPU fixtures through the real probe", () => {
  it.each([
    ["dual_a5000-v13", ["NVIDIA RTX A5000", "NVIDIA RTX A5000"], "13.1"],
    ["l40s", ["NVIDIA L40S"], ""],
    ["nvidia-smi-sample-output", ["Tesla P100-PCIE-12GB", "Tesla P100-PCIE-12GB_2"], ""],
  ] as const)("%s", async (fixtureName, names, cuda) => {
    const home = await tempDir("home");
    const gpuAgent = await agent({ gpuFixture: fixtureName });
    await enroll(gpuAgent, "a", home);
    const { json } = await fleetLs(home);
    const inventory = json.agents[0]!.inventory!;
    expect(inventory["gpus"].map((g: { name: string }) => g.name)).toEqual(names);
    expect(inventory["gpuDriver"].cudaVersion ?? "").toBe(cuda);
    expect(inventory["gpuDriver"].healthy).toBe(true);
  });
});

describe("GPU tooling that is absent or failing", () => {
  it("no nvidia-smi on PATH: zero GPUs, healthy", async () => {
    const home = await tempDir("home");
    await enroll(await agent(), "plain", home);
    const inventory = (await fleetLs(home)).json.agents[0]!.inventory!;
    expect(inventory["gpus"] ?? []).toEqual([]);
    expect(inventory["gpuDriver"]).toMatchObject({ healthy: true });
    expect(inventory["gpuDriver"].vendor ?? "").toBe("");
  });

  it("driver not loaded: zero GPUs, unhealthy, and the error says what failed", async () => {
    const home = await tempDir("home");
    await enroll(await agent({ gpuFixture: "l40s", env: { FAKE_NVIDIA_SMI_MODE: "driver-failure" } }), "broken", home);
    const inventory = (await fleetLs(home)).json.agents[0]!.inventory!;
    expect(inventory["gpus"] ?? []).toEqual([]);
    expect(inventory["gpuDriver"].healthy ?? false).toBe(false);
    expect(inventory["gpuDriver"].error).toMatch(/exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  it("nvidia-smi hanging past the timeout: unhealthy with a timeout error, and the agent still serves", async () => {
    const home = await tempDir("home");
    const config = join(await tempDir("cfg"), "agent.yaml");
    await writeFile(config, "nvidia_smi:\n  timeout: 500ms\n");
    await enroll(await agent({ gpuFixture: "l40s", env: { FAKE_NVIDIA_SMI_MODE: "hang" }, args: ["--config", config] }), "hung", home);
    const inventory = (await fleetLs(home)).json.agents[0]!.inventory!;
    expect(inventory["gpus"] ?? []).toEqual([]);
    expect(inventory["gpuDriver"].healthy ?? false).toBe(false);
    expect(inventory["gpuDriver"].error).toMatch(/timed out after 500 ms/);
  });
});

describe("docker daemon down", () => {
  it("reports docker.healthy=false with the reason and still serves inventory", async () => {
    const home = await tempDir("home");
    const config = join(await tempDir("cfg"), "agent.yaml");
    await writeFile(config, "docker_socket: /nonexistent/docker.sock\n");
    await enroll(await agent({ args: ["--config", config] }), "nodocker", home);
    const { json } = await fleetLs(home);
    expect(json.agents[0]!.status).toBe("ok");
    const docker = json.agents[0]!.inventory!["docker"];
    expect(docker.healthy ?? false).toBe(false);
    expect(docker.error).toMatch(/\/nonexistent\/docker\.sock.*ENOENT/);
  });
});

describe("authentication and pinning", () => {
  let target: AgentProcess;
  let token: string;
  let home: string;
  beforeAll(async () => {
    target = await agent({ args: ["--name", "named-agent"] });
    home = await tempDir("home");
    token = await enroll(target, "good", home);
  });

  it("`token create` prints exactly one `berth fleet add` line", async () => {
    const result = await agentCommand(["token", "create", "alice", "--data-dir", target.dataDir]);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    // The running agent's own name and bound address, not the config's defaults.
    expect(lines[0]).toContain(` named-agent ${target.address} `);
    expect(lines[0]).toMatch(/^berth fleet add \S+ \S+ --token berth_[A-Za-z0-9_-]{43} --fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(lines[0]).toContain(target.fingerprint);
  });

  it("stores tokens hashed only", async () => {
    const { readFile } = await import("node:fs/promises");
    const stored = await readFile(join(target.dataDir, "tokens.yaml"), "utf8");
    expect(stored).not.toContain(token);
    expect(stored).toMatch(/sha256: [0-9a-f]{64}/);
  });

  it("the right token works, a wrong one is UNAUTHENTICATED with a clear error", async () => {
    const wrongHome = await tempDir("home");
    const good = await fleetLs(home);
    expect(good.json.agents[0]!.status).toBe("ok");
    const added = await berth(["fleet", "add", "bad", target.address, "--token", "berth_wrong", "--fingerprint", target.fingerprint!], {
      BERTH_HOME: wrongHome,
    });
    expect(added.exitCode).toBe(0);
    const bad = await fleetLs(wrongHome);
    expect(bad.json.agents[0]).toMatchObject({ status: "unauthenticated", error: "invalid token: the agent does not know this token" });
    expect(bad.exitCode).toBe(4);
  });

  it("a wrong fingerprint is an error naming both fingerprints", async () => {
    const wrongHome = await tempDir("home");
    const wrong = "AA:".repeat(31) + "AA";
    await berth(["fleet", "add", "pinned", target.address, "--token", token, "--fingerprint", wrong], { BERTH_HOME: wrongHome });
    const { json, exitCode } = await fleetLs(wrongHome);
    expect(exitCode).toBe(4);
    expect(json.agents[0]!.status).toBe("error");
    expect(json.agents[0]!.error).toContain(`expected ${wrong}`);
    expect(json.agents[0]!.error).toContain(`presented ${target.fingerprint}`);
  });

  it("a token made while the agent runs works at once, for many concurrent callers", async () => {
    const created = await agentCommand(["token", "create", "burst", "--data-dir", target.dataDir]);
    const fresh = /--token (\S+)/.exec(created.stdout)![1]!;
    const { connectAgent } = await import("../../client/fleet/connect.js");
    const burstHome = await tempDir("home");
    const connections = await Promise.all(
      Array.from({ length: 10 }, () =>
        connectAgent({ name: "burst", address: target.address, token: fresh, fingerprint: target.fingerprint! }, burstHome, new Date(Date.now() + 5000)),
      ),
    );
    const answers = await Promise.allSettled(
      connections.map(
        (c) => new Promise((resolve, reject) => c.client.getInventory({ refresh: false }, c.metadata, (error, inv) => (error ? reject(error) : resolve(inv)))),
      ),
    );
    for (const c of connections) c.close();
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill("fulfilled"));
  });

  it("a request with no token is refused", async () => {
    const { loadPackageDefinition, credentials, Metadata } = await import("@grpc/grpc-js");
    const { loadSync } = await import("@grpc/proto-loader");
    const { REPO_ROOT } = await import("../support/fixtures.js");
    const definition = loadSync("berth/v1/agent.proto", { includeDirs: [join(REPO_ROOT, "proto")] });
    const pkg = loadPackageDefinition(definition) as any;
    const { readFile } = await import("node:fs/promises");
    const cert = await readFile(join(target.dataDir, "tls", "agent.crt"));
    const client = new pkg.berth.v1.Agent(target.address, credentials.createSsl(cert, null, null, { checkServerIdentity: () => undefined }), {
      "grpc.ssl_target_name_override": "berth-agent",
    });
    const error = await new Promise<any>((resolve) => client.GetInventory({}, new Metadata(), (err: unknown) => resolve(err)));
    client.close();
    expect(error.code).toBe(16);
    expect(error.details).toMatch(/missing token/);
  });
});

describe("a fleet with one agent down", () => {
  let silent: Server;
  afterAll(() => silent?.close());

  it("lists 2 ok and 1 unreachable within the deadline, and exits 0", async () => {
    const home = await tempDir("home");
    const [a, b] = await Promise.all([agent(), agent()]);
    await enroll(a, "a", home);
    await enroll(b, "b", home);
    // Accepts TCP but never answers TLS: the worst kind of down, only a deadline ends it.
    silent = createServer(() => {}).listen(0, "127.0.0.1");
    await new Promise((resolve) => silent.once("listening", resolve));
    const port = (silent.address() as { port: number }).port;
    const fp = a.fingerprint!;
    await berth(["fleet", "add", "c", `127.0.0.1:${port}`, "--token", "t", "--fingerprint", fp], { BERTH_HOME: home });

    const { json, exitCode, durationMs } = await fleetLs(home, ["--timeout", "1s"]);
    expect(exitCode).toBe(0);
    expect(json.agents.map((x) => [x.name, x.status])).toEqual([
      ["a", "ok"],
      ["b", "ok"],
      ["c", "unreachable"],
    ]);
    expect(json.agents[2]!.error).toMatch(/deadline|within/);
    // 1 s deadline plus the CLI's own start-up; nowhere near 3 × the deadline.
    expect(durationMs).toBeLessThan(2500);
  });

  it("exits 4 when no agent answers", async () => {
    const home = await tempDir("home");
    await berth(["fleet", "add", "gone", "127.0.0.1:1", "--token", "t", "--fingerprint", "AB:".repeat(31) + "AB"], { BERTH_HOME: home });
    const { json, exitCode } = await fleetLs(home);
    expect(exitCode).toBe(4);
    expect(json.agents[0]).toMatchObject({ status: "unreachable" });
    expect(json.agents[0]!.error).toMatch(/ECONNREFUSED/);
  });
});

describe("plaintext on loopback", () => {
  it("works when the config says so, with --plaintext on the client", async () => {
    const config = join(await tempDir("cfg"), "agent.yaml");
    await writeFile(config, "plaintext: true\nlisten: 127.0.0.1:7499\nname: lo\nlabels:\n  zone: lab\ninterruptible: true\nreserved:\n  cpu: 1\n  memory: 1GB\n");
    const plain = await agent({ args: ["--config", config] });
    expect(plain.fingerprint).toBeUndefined();
    const created = await agentCommand(["token", "create", "bob", "--config", config, "--data-dir", plain.dataDir]);
    expect(created.stdout).toMatch(/--plaintext$/m);
    const token = /--token (\S+)/.exec(created.stdout)![1]!;
    const home = await tempDir("home");
    await berth(["fleet", "add", "lo", plain.address, "--token", token, "--plaintext"], { BERTH_HOME: home });
    const { json } = await fleetLs(home);
    const inventory = json.agents[0]!.inventory!;
    expect(json.agents[0]!.status).toBe("ok");
    expect(inventory["agent"]).toMatchObject({ name: "lo", labels: { zone: "lab" }, interruptible: true });
    expect(inventory["cpu"].allocatableCores).toBe(inventory["cpu"].cores - 1);
    expect(BigInt(inventory["memory"].bytesTotal) - BigInt(inventory["memory"].bytesAllocatable)).toBe(1024n ** 3n);
  });
});

describe("the standard health service", () => {
  it("answers SERVING to a generic grpc.health.v1 client without a token", async () => {
    const target = await agent();
    const { loadPackageDefinition, credentials } = await import("@grpc/grpc-js");
    const { loadSync } = await import("@grpc/proto-loader");
    const { REPO_ROOT } = await import("../support/fixtures.js");
    const { readFile } = await import("node:fs/promises");
    const pkg = loadPackageDefinition(loadSync("grpc/health/v1/health.proto", { includeDirs: [join(REPO_ROOT, "proto")], enums: String })) as any;
    const cert = await readFile(join(target.dataDir, "tls", "agent.crt"));
    const client = new pkg.grpc.health.v1.Health(target.address, credentials.createSsl(cert, null, null, { checkServerIdentity: () => undefined }), {
      "grpc.ssl_target_name_override": "berth-agent",
    });
    const answer = await new Promise<any>((resolve, reject) =>
      client.Check({ service: "berth.v1.Agent" }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
    );
    client.close();
    expect(answer.status).toBe("SERVING");
  });
});
