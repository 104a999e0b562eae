#!/usr/bin/env node
import { mkdir } from "node:fs/promises";
import { Command, CommanderError, Option } from "commander";
import Docker from "dockerode";
import { OFFLINE_IMAGE, buildOfflineImage } from "./images/offline-build.js";
import { BerthError, StatusCode } from "../shared/errors.js";
import { BERTH_VERSION } from "../shared/version.js";
import { parseEndpoint } from "../shared/address.js";
import { advertisedAddress } from "./advertise.js";
import { readServingFile } from "./serving-file.js";
import { ConfigFileError, loadAgentConfig } from "./config/load.js";
import { createLogger } from "./log.js";
import { serveAgent } from "./serve.js";
import { ensureCertificate } from "./security/tls.js";
import { createToken } from "./security/tokens.js";

interface CommonOptions {
  config?: string;
  dataDir?: string;
}

function buildCli(): Command {
  const program = new Command("berth-agent")
    .description("Runs on each GPU machine: reports its inventory over gRPC and runs ssh workflows in Docker.")
    .version(BERTH_VERSION)
    .option("--config <file>", "agent config (YAML); default /etc/berth/agent.yaml as root, else ~/.config/berth/agent.yaml")
    .option("--listen <host:port>", "address to serve gRPC on (default 0.0.0.0:7433, or unix:/path)")
    .option("--data-dir <dir>", "state directory (default /var/lib/berth as root, else ~/.local/share/berth)")
    .option("--name <name>", "agent name shown in the fleet (default: the hostname)")
    .option("--publish-address <ip>", "host address container ports are published on (default 0.0.0.0)")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .action(async (options: CommonOptions & { listen?: string; name?: string; publishAddress?: string }) => {
      const config = await loadAgentConfig(options.config, options);
      const log = createLogger();
      const agent = await serveAgent(config, log);
      const stop = (signal: string) => {
        log.info({ signal }, "shutting down");
        agent.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });

  const token = program.command("token").description("manage the tokens clients authenticate with");
  token
    .command("create <user>")
    .description("create a token for USER and print the `berth fleet add` line that USER runs")
    .addOption(new Option("--config <file>", "agent config (YAML)"))
    .addOption(new Option("--data-dir <dir>", "state directory"))
    .action(async (user: string, options: CommonOptions) => {
      const merged = { ...program.opts<CommonOptions>(), ...definedOnly(options) };
      const config = await loadAgentConfig(merged.config, { dataDir: merged.dataDir });
      await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
      const secret = await createToken(config.dataDir, user);
      const serving = await readServingFile(config.dataDir);
      const listen = serving ? parseEndpoint(serving.address, "serving.json address", { listening: true }) : config.listen;
      const address = advertisedAddress(listen, listen.kind === "tcp" ? listen.port : 0);
      const trust = config.plaintext
        ? "--plaintext"
        : `--fingerprint ${(await ensureCertificate(config.dataDir, config.name)).fingerprint}`;
      process.stdout.write(`berth fleet add ${serving?.name ?? config.name} ${address} --token ${secret} ${trust}\n`);
    });
  const image = program.command("image").description("images for runs");
  image
    .command("build")
    .description("build the offline base image for air-gapped hosts (debootstrap → docker import; python3, sshd, no conda)")
    .requiredOption("--offline", "build from the host's Debian mirror with debootstrap (the only builder so far)")
    .option("--tag <tag>", "image tag", OFFLINE_IMAGE)
    .option("--force", "rebuild even when the image exists")
    .option("--mirror <url>", "Debian mirror for debootstrap (default: debootstrap's own)")
    .option("--suite <suite>", "Debian suite", "bookworm")
    .option("--docker-socket <path>", "Docker engine socket", "/var/run/docker.sock")
    .action(async (options: { tag: string; force?: boolean; mirror?: string; suite: string; dockerSocket: string }) => {
      const docker = new Docker({ socketPath: options.dockerSocket });
      const outcome = await buildOfflineImage(docker, {
        tag: options.tag,
        force: options.force ?? false,
        suite: options.suite,
        ...(options.mirror ? { mirror: options.mirror } : {}),
        log: (line) => process.stderr.write(`berth-agent: ${line}\n`),
      });
      process.stdout.write(outcome === "exists" ? `${options.tag} already exists (use --force to rebuild)\n` : `built ${options.tag}\n`);
    });
  return program;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

/** One line on stderr, never a stack: usage and config errors exit 2, everything else 1. */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its own one-line message.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof BerthError || error instanceof ConfigFileError) {
    process.stderr.write(`berth-agent: ${error.message}\n`);
    return error instanceof ConfigFileError || (error instanceof BerthError && error.code === StatusCode.InvalidArgument) ? 2 : 1;
  }
  process.stderr.write(`berth-agent: ${(error as Error)?.message ?? String(error)}\n`);
  return 1;
}

await main(process.argv);
