import { readFile } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { defaultAgentDataDir } from "../../shared/defaults.js";
import { ValidationError } from "../../shared/errors.js";
import { type AgentConfig, type FlagValues, parseConfigFile, parseFlags, resolveConfig } from "./schema.js";

export class ConfigFileError extends Error {}

export function defaultConfigPath(): string {
  return process.getuid?.() === 0 ? "/etc/berth/agent.yaml" : join(homedir(), ".config", "berth", "agent.yaml");
}

/**
 * Reads and validates the config. An explicit --config must exist; the default
 * path is used only when present. Nothing here binds or creates anything, so a
 * bad value is reported before any port is taken.
 */
export async function loadAgentConfig(configPath: string | undefined, flags: FlagValues): Promise<AgentConfig> {
  const path = configPath ?? defaultConfigPath();
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (configPath !== undefined || code !== "ENOENT") {
      throw new ConfigFileError(`${path}: cannot read config: ${code === "ENOENT" ? "no such file" : (error as Error).message}`);
    }
  }
  const source = text === undefined ? "berth-agent" : path;
  let raw: unknown;
  try {
    raw = text === undefined ? undefined : parse(text);
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    throw new ConfigFileError(`${path}: not valid YAML: ${message}`);
  }
  let fileValues;
  try {
    fileValues = parseConfigFile(raw);
  } catch (error) {
    throw error instanceof ValidationError ? error.from(path) : error;
  }
  return resolveConfig(fileValues, parseFlags(flags), { name: hostname().split(".")[0] || "agent", dataDir: defaultAgentDataDir() }, source);
}
