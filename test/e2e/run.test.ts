import { execa } from "execa";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_BIN } from "../support/processes.js";
import { type Laptop, laptop, readyRun } from "../support/e2e.js";

describe("berth run ssh --code -d, then ssh <run> with only the written ssh config", () => {
  let pc: Laptop;
  const original = "# my own config\nHost work\n  HostName 10.1.2.3\n  User me\n\tIdentityFile ~/.ssh/work   \n# no newline at the end";
  beforeAll(async () => {
    pc = await laptop();
    await pc.addAgent("gpu-1");
    await mkdir(join(pc.home, ".ssh"), { recursive: true });
    await writeFile(join(pc.home, ".ssh", "config"), original);
  });
  afterAll(async () => pc.cleanup());

  it("prints the block, logs in, keeps ~/.ssh/config byte for byte, and stop removes the entry and the container", async () => {
    const result = await pc.berth(["run", "ssh", "--code", "-d", "--working-dir", "src", "--setup", "mkdir -p src"]);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const { run, agent } = readyRun(result.stdout);
    expect(agent).toBe("gpu-1");
    expect(result.stdout).toMatch(/^→ gpu-1: best fit: /m);
    expect(result.stdout).toContain(`✓ ${run} is ready on gpu-1\n  ssh ${run}\n  vscode://vscode-remote/ssh-remote+${run}/workflow/src`);
    expect(run).toMatch(/^project-[0-9a-f]{4}$/);

    const { stat } = await import("node:fs/promises");
    expect((await stat(join(pc.berthHome, "ssh", "id_ed25519"))).mode & 0o777).toBe(0o600);
    const userConfig = await readFile(join(pc.home, ".ssh", "config"), "utf8");
    expect(userConfig).toBe(`Include ${join(pc.berthHome, "ssh", "config")}\n${original}`);
    const entry = await readFile(join(pc.berthHome, "ssh", "config"), "utf8");
    expect(entry).toContain(`Host ${run}\n`);
    expect(entry).toMatch(/^ {2}IdentitiesOnly yes$/m);
    expect(entry).toMatch(/^ {2}ControlMaster auto$/m);
    expect(entry).not.toMatch(/StrictHostKeyChecking no/);
    expect(entry).not.toContain("~");

    const ssh = await execa("ssh", ["-F", join(pc.home, ".ssh", "config"), "-o", "BatchMode=yes", run, "python3 --version; pwd; ls /workflow"], {
      env: pc.env,
      reject: false,
      timeout: 30_000,
    });
    expect(ssh.stderr).toBe("");
    expect(String(ssh.stdout).split("\n")).toEqual([expect.stringMatching(/^Python 3\.\d+\.\d+$/), "/workflow/src", "src", "train.py"]);
    await execa("ssh", ["-F", join(pc.home, ".ssh", "config"), "-O", "exit", run], { env: pc.env, reject: false });

    const ps = await pc.berth(["ps"]);
    expect(ps.stdout).toMatch(new RegExp(`^${run}\\s+gpu-1\\s+running\\s+0\\s+-\\s+\\d+s$`, "m"));

    const containers = async () => String((await execa("docker", ["ps", "-aq", "--filter", `label=berth.run-name=${run}`])).stdout).trim();
    expect(await containers()).not.toBe("");
    const stop = await pc.berth(["stop", run]);
    expect(stop.exitCode).toBe(0);
    expect(stop.stdout).toBe(`${run} stopped: stopped by request`);
    expect(await readFile(join(pc.berthHome, "ssh", "config"), "utf8")).not.toContain(run);
    expect(await containers()).toBe("");
    expect(await readFile(join(pc.home, ".ssh", "config"), "utf8")).toBe(`Include ${join(pc.berthHome, "ssh", "config")}\n${original}`);
  });

  it("--json prints JSON lines ending in the ready event", async () => {
    const result = await pc.berth(["run", "ssh", "-d", "--json", "-p", "8888", "--name", "jsonrun"]);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split("\n").map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ event: "scheduled", agent: "gpu-1" });
    expect(lines.at(-1)).toEqual({
      event: "ready",
      run: "jsonrun",
      agent: "gpu-1",
      host: "127.0.0.1",
      sshPort: expect.any(Number),
      user: "root",
      vscodeUri: "vscode://vscode-remote/ssh-remote+jsonrun/workflow",
      ports: [{ container: 8888, local: 8888 }],
    });
    expect(lines.filter((l) => l.event === "state").map((l) => l.state)).toEqual(["pending", "creating", "setting_up", "running"]);
    await pc.berth(["stop", "jsonrun"]);
  });
});

describe("a workflow file", () => {
  let pc: Laptop;
  beforeAll(async () => {
    pc = await laptop();
    await pc.addAgent("box");
  });
  afterAll(async () => pc.cleanup());

  it("runs setup, env, ports, working_dir, cache and artifacts; attached, its http.server answers on localhost through the tunnel", async () => {
    await mkdir(join(pc.project, ".berth"), { recursive: true });
    await mkdir(join(pc.project, "web"), { recursive: true });
    await writeFile(join(pc.project, "web", "index.html"), "hello through the tunnel\n");
    await writeFile(
      join(pc.project, ".berth", "workflows.yaml"),
      [
        "workflows:",
        "  - name: serve",
        "    provider: ssh",
        "    python: 3.11",
        "    working_dir: web",
        "    env:",
        "      - GREETING=hi there",
        "    ports:",
        "      - 8000",
        "    cache:",
        "      - path: .cache",
        "    artifacts:",
        "      - path: out",
        "        mount: true",
        "    setup:",
        "      - echo \"$GREETING from $(pwd)\"",
        "      - mkdir -p /workflow/out && echo done > /workflow/out/status",
        "      - nohup python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &",
        "",
      ].join("\n"),
    );
    const child = execa("node", [CLIENT_BIN, "run", "serve"], {
      cwd: pc.project,
      env: pc.env,
      reject: false,
      all: true,
    });
    let output = "";
    child.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!/is ready on box/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain("hi there from /workflow/web\n");
    expect(output).toContain("  ports: 8000 → localhost:8000");
    const { run } = readyRun(output);

    let body = "";
    while (Date.now() < deadline) {
      body = await fetch("http://127.0.0.1:8000/index.html").then((r) => r.text(), () => "");
      if (body) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(body).toBe("hello through the tunnel\n");

    // Without a TTY, Ctrl-C detaches and the run goes on.
    child.kill("SIGINT");
    const exited = await child;
    expect(exited.exitCode).toBe(0);
    expect(String(exited.all)).toContain(`detached; ${run} keeps running`);
    const ps = await pc.berth(["ps", "--json"]);
    expect(JSON.parse(ps.stdout).runs.map((r: { name: string; state: string }) => [r.name, r.state])).toEqual([[run, "running"]]);

    const agent = pc.agents[0]!;
    const live = await readFile(join(agent.dataDir, "runs", JSON.parse(ps.stdout).runs[0].id, "artifacts", "out", "status"), "utf8");
    expect(live).toBe("done\n");
    const listed = await pc.berth(["artifacts", "ls", run]);
    expect(listed.stdout).toMatch(/^out\/status\s+5$/m);
    const downloaded = await pc.berth(["artifacts", "download", run, "-o", join(pc.home, "dl")]);
    expect(downloaded.stdout).toBe(`downloaded 1 file to ${join(pc.home, "dl")}`);
    expect(await readFile(join(pc.home, "dl", "out", "status"), "utf8")).toBe("done\n");
    const logs = await pc.berth(["logs", run]);
    expect(logs.stdout).toContain("hi there from /workflow/web");
    await pc.berth(["stop", run]);
  });

  it.each([
    ["workflows:\n  - name: bad\n    resources:\n      memory: lots\n", 'workflows.yaml:4: workflows[0].resources.memory: expected a size such as "512MB", "16GB" or "1.5TB", got "lots"'],
    ["workflows:\n  - name: bad\n    gpus: 2\n", "workflows.yaml:3: workflows[0].gpus: expected one of name, provider, setup, python, env, artifacts, resources, ports, working_dir, cache, image, got \"gpus\""],
    ["workflows:\n  - name: bad\n    working_dir: ../../etc\n", 'workflows.yaml:3: workflows[0].working_dir: expected a relative path inside /workflow, got "../../etc"'],
    ["workflows:\n  - name: bad\n   setup: [\n", "workflows.yaml:3: not valid YAML"],
  ])("bad file %j exits 2 naming the file, line and field", async (text, message) => {
    await mkdir(join(pc.project, ".berth"), { recursive: true });
    await writeFile(join(pc.project, ".berth", "workflows.yaml"), text);
    const result = await pc.berth(["run", "bad"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`berth: .berth/workflows.yaml`);
    expect(result.stderr).toContain(message);
    expect(result.stderr.split("\n")).toHaveLength(1);
  });

  it.each([
    [["--gpu", "lots:of:gpus:x"], '--gpu: expected a count such as 2, or NAME[:MEMORY][:COUNT] such as "A100:40GB:2", got "lots:of:gpus:x"'],
    [["--memory", "huge"], '--memory: expected a size such as "512MB", "16GB" or "1.5TB", got "huge"'],
    [["-p", "99999"], '--port: expected PORT or LOCAL:CONTAINER'],
    [["-e", "NOT VALID"], "--env: expected KEY=VALUE"],
    [["--working-dir", "../../etc"], '--working-dir: expected a relative path inside /workflow, got "../../etc"'],
    [["--cpu", "many"], '--cpu: expected a number of cores ≥ 0, got "many"'],
  ])("bad flags %j exit 2 naming the flag", async (flags, message) => {
    const result = await pc.berth(["run", "ssh", "-d", ...flags]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
