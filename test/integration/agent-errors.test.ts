import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentCommand, berth, tempDir } from "../support/processes.js";

async function configFile(text: string): Promise<string> {
  const path = join(await tempDir("cfg"), "agent.yaml");
  await writeFile(path, text);
  return path;
}

function expectOneCleanLine(stderr: string): void {
  const lines = stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |Error:|node:internal/);
}

describe("berth-agent refuses bad configuration before binding anything", () => {
  it.each([
    ["listen: 7433x\n", 'agent.yaml: listen: expected HOST:PORT, got "7433x"'],
    ["listen: 10.0.0.1:99999\n", 'agent.yaml: listen: expected HOST:PORT, got "10.0.0.1:99999"'],
    ["sample_period: often\n", 'agent.yaml: sample_period: expected a duration such as "500ms", "10s" or "1m", got "often"'],
    ["reserved:\n  memory: lots\n", 'agent.yaml: reserved.memory: expected a size such as "512MB", "16GB" or "1.5TB", got "lots"'],
    ["reserved:\n  cpu: -1\n", "agent.yaml: reserved.cpu: expected a number ≥ 0, got -1"],
    ["interruptible: maybe\n", 'agent.yaml: interruptible: expected true or false, got "maybe"'],
    ["lisen: 1.2.3.4:5\n", 'agent.yaml: lisen: expected one of name, labels, interruptible, listen, plaintext, data_dir, sample_period, reserved, allocatable, tokens, nvidia_smi, docker_socket, publish_address, advertise_host, images, stop_timeout, orphan_grace, got "lisen"'],
    ["tokens:\n  - user: a\n    sha256: nothex\n", 'agent.yaml: tokens[0].sha256: expected 64 hex digits (the SHA-256 of the token), got "nothex"'],
    ["plaintext: true\nlisten: 0.0.0.0:7433\n", 'agent.yaml: plaintext: expected listen on loopback (127.0.0.1) or a unix: socket when plaintext is true, got "0.0.0.0:7433"'],
    ["listen: [unclosed\n", "agent.yaml: not valid YAML"],
  ])("%j", async (text, message) => {
    const path = await configFile(text);
    // The port is taken by someone else: a config error must be reported before any bind is tried.
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const result = await agentCommand(["--config", path, "--data-dir", await tempDir("data")]);
    blocker.close();
    expect(result.exitCode).toBe(2);
    expect(result.stderr.replace(path, "agent.yaml")).toContain(message);
    expectOneCleanLine(result.stderr);
  });

  it("flags are checked and named too", async () => {
    const result = await agentCommand(["--listen", "7433x"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('berth-agent: --listen: expected HOST:PORT, got "7433x"');
    const relative = await agentCommand(["--data-dir", "relative/dir"]);
    expect(relative.exitCode).toBe(2);
    expect(relative.stderr).toContain('--data-dir: expected an absolute path, got "relative/dir"');
  });

  it("an unknown flag or a missing config file is one line, exit 2", async () => {
    const unknown = await agentCommand(["--frobnicate"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
    const missing = await agentCommand(["--config", "/nonexistent/agent.yaml"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toBe("berth-agent: /nonexistent/agent.yaml: cannot read config: no such file");
  });

  it("a port already in use is a clear error", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => blocker.once("listening", resolve));
    const port = (blocker.address() as { port: number }).port;
    const result = await agentCommand(["--listen", `127.0.0.1:${port}`, "--data-dir", await tempDir("data")], {
      PATH: "/usr/bin:/bin",
    });
    blocker.close();
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`berth-agent: cannot listen on 127\\.0\\.0\\.1:${port}`));
    expectOneCleanLine(result.stderr);
  });
});

describe("berth refuses bad flags and fleet files", () => {
  it.each([
    [["fleet", "ls", "--timeout", "soon"], '--timeout: expected a duration such as "500ms", "10s" or "1m", got "soon"'],
    [["fleet", "add", "a", "10.0.0.1:7433", "--token", "t", "--fingerprint", "zz"], '--fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons optional), got "zz"'],
    [["fleet", "add", "a", "10.0.0.1", "--token", "t", "--plaintext"], 'ADDRESS: expected HOST:PORT, got "10.0.0.1"'],
    [["fleet", "add", "a", "10.0.0.1:7433", "--fingerprint", "AB".repeat(32)], "--token: expected the token from `berth-agent token create`, got nothing"],
    [["fleet", "rm", "nobody"], 'no agent named "nobody" in the fleet'],
    [["fleet", "frob"], "unknown command 'frob'"],
  ])("%j", async (args, message) => {
    const result = await berth(args, { BERTH_HOME: await tempDir("home") });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expectOneCleanLine(result.stderr);
  });

  it("a broken fleet.yaml names the file and the field", async () => {
    const home = await tempDir("home");
    await writeFile(join(home, "fleet.yaml"), "agents:\n  - name: a\n    address: nowhere\n");
    const result = await berth(["fleet", "ls"], { BERTH_HOME: home });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`berth: ${join(home, "fleet.yaml")}: agents[0].address: expected HOST:PORT, got "nowhere"`);
  });
});
