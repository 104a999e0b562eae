import type { Command } from "commander";
import type { RunOptions } from "../runs/start.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRunCommand(program: Command): void {
  program
    .command("run <workflow>")
    .description("start a dev environment: `ssh` with flags only, or a workflow NAME from .berth/workflows.yaml (flags override it)")
    .option("--code", "print the VS Code URI")
    .option("--gpu <spec>", "N, or NAME[:MEMORY][:COUNT] such as A100:40GB:2")
    .option("--gpu-name <name>", "GPU model, e.g. A100")
    .option("--gpu-memory <size>", "GPU memory per GPU, e.g. 40GB or 24GB..80GB")
    .option("--cpu <cores>", "cpu cores")
    .option("--memory <size>", "memory, e.g. 16GB")
    .option("--shm-size <size>", "size of /dev/shm, e.g. 8GB")
    .option("--interruptible", "the run may be placed on (and prefers) interruptible agents")
    .option("-p, --port <port>", "port to forward, PORT or LOCAL:CONTAINER (repeatable)", collect, [])
    .option("-e, --env <KEY=VALUE>", "environment variable (repeatable)", collect, [])
    .option("--setup <command>", "setup command (repeatable)", collect, [])
    .option("--python <version>", "Python version, e.g. 3.11")
    .option("--working-dir <path>", "working directory inside /workflow")
    .option("--cache <path>", "folder cached between runs (repeatable)", collect, [])
    .option("--artifact <path[:mount]>", "output folder; `:mount` saves it live (repeatable)", collect, [])
    .option("--image <image>", "image to run instead of the agent's catalogue")
    .option("--name <name>", "run name (the ssh host alias)")
    .option("--agent <name>", "run on this agent only")
    .option("-d, --detach", "return as soon as the run is ready")
    .option("--json", "JSON lines, one event per line; the last is the ready event")
    .option("--timeout <duration>", "per-agent deadline for the inventory query", "2s")
    .action(async (workflow: string, options: RunOptions) => {
      // Loaded on use, so that `berth --help` and `berth ps` do not pay for it.
      const { startRun } = await import("../runs/start.js");
      process.exitCode = await startRun(workflow, options);
    });
}

