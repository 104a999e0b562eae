import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { type AgentProcess, berth, startAgent, tempDir } from "../support/processes.js";

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once("error", () => resolve(false))
      .listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

describe("no fleet file: the embedded default is the local agent at 127.0.0.1:7433", () => {
  let local: AgentProcess | undefined;
  afterAll(async () => local?.stop());

  it("finds the local agent, trusting its data dir's certificate and local token", async () => {
    if (!(await portFree(7433))) {
      throw new Error("port 7433 is in use (a quickstart agent?): stop it to run this test, which needs the default port");
    }
    local = await startAgent({ args: ["--listen", "127.0.0.1:7433", "--name", "this-host"] });
    const home = await tempDir("home");
    const result = await berth(["fleet", "ls", "--json"], { BERTH_HOME: home, BERTH_AGENT_DATA_DIR: local.dataDir });
    expect(result.exitCode).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.agents).toHaveLength(1);
    expect(doc.agents[0]).toMatchObject({ name: "local", address: "127.0.0.1:7433", status: "ok" });
    expect(doc.agents[0].inventory.agent.name).toBe("this-host");
  });

  it("without the local credentials it says so instead of pretending", async () => {
    const home = await tempDir("home");
    const result = await berth(["fleet", "ls", "--json"], { BERTH_HOME: home, BERTH_AGENT_DATA_DIR: await tempDir("empty") });
    const doc = JSON.parse(result.stdout);
    expect(doc.agents[0].status).not.toBe("ok");
    expect(result.exitCode).toBe(4);
  });
});
