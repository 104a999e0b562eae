import type { Command } from "commander";
import { parseEndpoint } from "../../shared/address.js";
import { NotFoundError, ValidationError } from "../../shared/errors.js";
import { parseFingerprint } from "../../shared/fingerprint.js";
import { parseDuration } from "../../shared/durations.js";
import { ExitCode, UsageError } from "../exit.js";
import { berthHome } from "../home.js";
import { queryAgent, queryFleet } from "../fleet/query.js";
import { type FleetAgent, loadFleet, saveFleet } from "../fleet/store.js";
import { fleetJson, renderAgentDetail, renderFleetTable } from "../render/fleet.js";

interface Output {
  out(text: string): void;
}

export function registerFleetCommands(program: Command, io: Output): void {
  const fleet = program.command("fleet").description("the agents this client knows, and what they have");

  fleet
    .command("add <name> <address>")
    .description("add an agent (or replace one of the same name); paste the line `berth-agent token create` prints")
    .option("--token <token>", "the token the agent issued")
    .option("--fingerprint <sha256>", "SHA-256 fingerprint of the agent's TLS certificate")
    .option("--plaintext", "no TLS (only for agents on loopback or a unix: socket)")
    .action(async (name: string, address: string, options: { token?: string; fingerprint?: string; plaintext?: boolean }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
        throw new ValidationError("NAME", "letters, digits, '.', '_' or '-'", name);
      }
      parseEndpoint(address, "ADDRESS");
      if (options.token === undefined) throw new ValidationError("--token", "the token from `berth-agent token create`", undefined);
      if (!options.plaintext && options.fingerprint === undefined) {
        throw new ValidationError("--fingerprint", "the agent's certificate fingerprint (or --plaintext)", undefined);
      }
      const home = berthHome();
      const current = await loadFleet(home);
      const entry: FleetAgent = { name, address, token: options.token };
      if (options.plaintext) entry.plaintext = true;
      else entry.fingerprint = parseFingerprint(options.fingerprint, "--fingerprint");
      const agents = current.embedded ? [] : current.agents.filter((agent) => agent.name !== name);
      await saveFleet(home, [...agents, entry]);
      io.out(`added ${name} (${address})`);
    });

  fleet
    .command("rm <name>")
    .description("forget an agent")
    .action(async (name: string) => {
      const home = berthHome();
      const current = await loadFleet(home);
      if (current.embedded || !current.agents.some((agent) => agent.name === name)) {
        throw new NotFoundError(`no agent named ${JSON.stringify(name)} in the fleet`);
      }
      await saveFleet(home, current.agents.filter((agent) => agent.name !== name));
      io.out(`removed ${name}`);
    });

  fleet
    .command("ls")
    .description("every agent with its status, CPU, memory and GPUs (exit 4 only when no agent answered)")
    .option("--json", "print JSON: {agents: [{name, address, status, error, inventory}]}")
    .option("--timeout <duration>", "per-agent deadline", "2s")
    .action(async (options: { json?: boolean; timeout: string }) => {
      const timeoutMs = parseDuration(options.timeout, "--timeout");
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const results = await queryFleet(agents, { home, timeoutMs });
      io.out(options.json ? JSON.stringify(fleetJson(results)) : renderFleetTable(results));
      if (results.length > 0 && results.every((result) => result.status !== "ok")) process.exitCode = ExitCode.NoAgentReachable;
    });

  fleet
    .command("show <name>")
    .description("one agent in detail, every GPU included")
    .option("--json", "print the agent's entry as JSON")
    .option("--timeout <duration>", "deadline", "2s")
    .action(async (name: string, options: { json?: boolean; timeout: string }) => {
      const timeoutMs = parseDuration(options.timeout, "--timeout");
      const home = berthHome();
      const { agents } = await loadFleet(home);
      const agent = agents.find((candidate) => candidate.name === name);
      if (!agent) throw new UsageError(`no agent named ${JSON.stringify(name)}; known: ${agents.map((a) => a.name).join(", ") || "none"}`);
      const result = await queryAgent(agent, { home, timeoutMs });
      io.out(options.json ? JSON.stringify(fleetJson([result]).agents[0]) : renderAgentDetail(result));
      if (result.status !== "ok") process.exitCode = ExitCode.NoAgentReachable;
    });
}
