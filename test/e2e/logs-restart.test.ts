import { execa } from "execa";
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { CLIENT_BIN } from "../support/processes.js";
import { type Laptop, laptop } from "../support/e2e.js";
import { removeAgentContainers, startRunAgent } from "../support/runs.js";

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe("berth logs -f across an agent restart", () => {
  let pc: Laptop;
  afterAll(async () => pc?.cleanup());

  it("resumes by seq after kill -9 and a restart: no gap, no duplicate", { timeout: 120_000 }, async () => {
    pc = await laptop();
    const port = await freePort();
    const agent = await pc.addAgent("phoenix", { args: ["--listen", `127.0.0.1:${port}`] });
    const started = await pc.berth([
      "run", "ssh", "-d", "--name", "chatty",
      "--setup", "echo before-restart",
      "--setup", "(sleep 6; echo after-restart) &",
    ]);
    expect(started.exitCode).toBe(0);

    const logs = execa("node", [CLIENT_BIN, "logs", "-f", "chatty"], { env: pc.env, cwd: pc.project, reject: false, all: true });
    let output = "";
    logs.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const until = async (pattern: RegExp, ms: number) => {
      const deadline = Date.now() + ms;
      while (!pattern.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return pattern.test(output);
    };
    expect(await until(/before-restart/, 20_000)).toBe(true);

    agent.process.kill("SIGKILL");
    await agent.process;
    const again = await startRunAgent({ dataDir: agent.dataDir, name: agent.name, args: ["--listen", `127.0.0.1:${port}`] });
    pc.agents.push(again);

    expect(await until(/after-restart/, 30_000)).toBe(true);
    logs.kill("SIGTERM");
    await logs;
    expect(output.match(/before-restart/g)).toHaveLength(1);
    expect(output.match(/after-restart/g)).toHaveLength(1);
    await pc.berth(["stop", "chatty"]);
    await removeAgentContainers(agent.name);
  });
});
