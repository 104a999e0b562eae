import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_BIN } from "../support/processes.js";
import { type Laptop, laptop } from "../support/e2e.js";

const session = `berth-test-${process.pid}`;

async function tmux(...args: string[]): Promise<string> {
  return String((await execa("tmux", args)).stdout);
}

async function screenUntil(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-t", session, "-S", "-200");
    if (pattern.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${pattern} never appeared on the terminal:\n${screen}`);
}

describe("Ctrl-C in a real terminal (tmux)", () => {
  let pc: Laptop;
  beforeAll(async () => {
    pc = await laptop();
    await pc.addAgent("tty-box");
  });
  afterAll(async () => {
    await execa("tmux", ["kill-session", "-t", session], { reject: false });
    await pc.cleanup();
  });

  it("asks `Stop the run? [y/N]`; answering N detaches and the run goes on", async () => {
    const command = `cd ${pc.project} && HOME=${pc.home} BERTH_HOME=${pc.berthHome} node ${CLIENT_BIN} run ssh --name ttyrun; echo "exit=$?"; sleep 600`;
    await tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", command);
    await screenUntil(/ttyrun is ready on tty-box/);
    await tmux("send-keys", "-t", session, "C-c");
    await screenUntil(/Stop the run\? \[y\/N\]/);
    await tmux("send-keys", "-t", session, "N", "Enter");
    const screen = await screenUntil(/exit=\d+/);
    expect(screen).toMatch(/detached; ttyrun keeps running/);
    expect(screen).toMatch(/exit=0/);
    const ps = JSON.parse((await pc.berth(["ps", "--json"])).stdout);
    expect(ps.runs.map((r: { name: string; state: string }) => [r.name, r.state])).toEqual([["ttyrun", "running"]]);
  });

  it("answering y stops the run", async () => {
    await execa("tmux", ["kill-session", "-t", session], { reject: false });
    const command = `cd ${pc.project} && HOME=${pc.home} BERTH_HOME=${pc.berthHome} node ${CLIENT_BIN} attach ttyrun; echo "exit=$?"; sleep 600`;
    await tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", command);
    await screenUntil(/ttyrun is ready on tty-box/);
    await tmux("send-keys", "-t", session, "C-c");
    await screenUntil(/Stop the run\? \[y\/N\]/);
    await tmux("send-keys", "-t", session, "y", "Enter");
    const screen = await screenUntil(/exit=\d+/);
    expect(screen).toMatch(/ttyrun stopped/);
    expect(screen).toMatch(/exit=0/);
    const ps = JSON.parse((await pc.berth(["ps", "--json"])).stdout);
    expect(ps.runs).toEqual([]);
  });
});
