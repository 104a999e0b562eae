#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { BerthError, StatusCode } from "../shared/errors.js";
import { BERTH_VERSION } from "../shared/version.js";
import { registerFleetCommands } from "./commands/fleet.js";
import { registerRunCommand } from "./commands/run.js";
import { registerRunsCommands } from "./commands/runs.js";
import { ExitCode, ExitError, UsageError } from "./exit.js";

function buildCli(): Command {
  const program = new Command("berth")
    .description("dstack-style ssh dev environments on your own GPU machines")
    .version(BERTH_VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const io = { out: (text: string) => process.stdout.write(`${text}\n`) };
  registerFleetCommands(program, io);
  registerRunCommand(program);
  registerRunsCommands(program, io);
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

/** Every failure is one line on stderr and an exit code from ExitCode; never a stack trace. */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  const message = (error as Error)?.message ?? String(error);
  process.stderr.write(`berth: ${message}\n`);
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof BerthError) {
    if (error.code === StatusCode.InvalidArgument || error.code === StatusCode.NotFound) return ExitCode.Usage;
    if (error.code === StatusCode.ResourceExhausted) return ExitCode.NoCapacity;
    if (error.code === StatusCode.Unavailable) return ExitCode.NoAgentReachable;
  }
  return ExitCode.RunFailed;
}

await main(process.argv);
