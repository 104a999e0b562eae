import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CliResult, berth, enroll, tempDir } from "./processes.js";
import { type RunAgent, removeAgentContainers, requireRunImage, startRunAgent } from "./runs.js";

/** A user's laptop: its own HOME, BERTH_HOME and project folder; agents enrolled into its fleet. */
export interface Laptop {
  home: string;
  berthHome: string;
  project: string;
  env: Record<string, string>;
  agents: RunAgent[];
  berth(args: string[], timeoutMs?: number): Promise<CliResult>;
  addAgent(name: string, options?: Parameters<typeof startRunAgent>[0]): Promise<RunAgent>;
  cleanup(): Promise<void>;
}

export async function laptop(): Promise<Laptop> {
  await requireRunImage();
  const home = await tempDir("home");
  const berthHome = join(home, ".berth");
  const project = join(home, "project");
  await mkdir(project, { recursive: true });
  await writeFile(join(project, "train.py"), "print('training')\n");
  const env = { HOME: home, BERTH_HOME: berthHome };
  const self: Laptop = {
    home,
    berthHome,
    project,
    env,
    agents: [],
    berth: (args, timeoutMs = 60_000) => berth(args, env, timeoutMs, project),
    async addAgent(name, options = {}) {
      const agent = await startRunAgent({ ...options, name });
      await enroll(agent, name, berthHome);
      self.agents.push(agent);
      return agent;
    },
    async cleanup() {
      for (const agent of self.agents) {
        await agent.stop().catch(() => undefined);
        await removeAgentContainers(agent.name);
      }
    },
  };
  return self;
}

/** The ready block's run name: `✓ <run> is ready on <agent>`. */
export function readyRun(stdout: string): { run: string; agent: string } {
  const match = /^✓ (\S+) is ready on (\S+)$/m.exec(stdout);
  if (!match) throw new Error(`no ready line in:\n${stdout}`);
  return { run: match[1]!, agent: match[2]! };
}
