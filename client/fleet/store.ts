import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { parseEndpoint } from "../../shared/address.js";
import { ValidationError } from "../../shared/errors.js";
import { fieldPath, readBoolean, readList, readMapping, readNonEmptyString, rejectUnknownKeys } from "../../shared/fields.js";
import { parseFingerprint } from "../../shared/fingerprint.js";

export interface FleetAgent {
  name: string;
  address: string;
  token?: string;
  fingerprint?: string;
  plaintext?: boolean;
}

export interface Fleet {
  agents: FleetAgent[];
  /** True when there is no fleet file and the embedded local default is used. */
  embedded: boolean;
}

export const LOCAL_AGENT_ADDRESS = "127.0.0.1:7433";

export function fleetPath(home: string): string {
  return join(home, "fleet.yaml");
}

/** With no fleet file the fleet is the agent on this machine. */
export async function loadFleet(home: string): Promise<Fleet> {
  const path = fleetPath(home);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { agents: [{ name: "local", address: LOCAL_AGENT_ADDRESS }], embedded: true };
    }
    throw error;
  }
  try {
    return { agents: parseFleet(parse(text)), embedded: false };
  } catch (error) {
    if (error instanceof ValidationError) throw error.from(path);
    throw new ValidationError("", "valid YAML", (error as Error).message.split("\n")[0], path);
  }
}

export function parseFleet(raw: unknown): FleetAgent[] {
  if (raw === null || raw === undefined) return [];
  const map = readMapping(raw, "");
  rejectUnknownKeys(map, ["agents"], "");
  const agents = map["agents"] === undefined ? [] : readList(map["agents"], "agents");
  return agents.map((item, i) => {
    const field = fieldPath("agents", i);
    const entry = readMapping(item, field);
    rejectUnknownKeys(entry, ["name", "address", "token", "fingerprint", "plaintext"], field);
    const agent: FleetAgent = {
      name: readNonEmptyString(entry["name"], fieldPath(field, "name")),
      address: readNonEmptyString(entry["address"], fieldPath(field, "address")),
    };
    parseEndpoint(agent.address, fieldPath(field, "address"));
    if (entry["token"] !== undefined) agent.token = readNonEmptyString(entry["token"], fieldPath(field, "token"));
    if (entry["fingerprint"] !== undefined) agent.fingerprint = parseFingerprint(entry["fingerprint"], fieldPath(field, "fingerprint"));
    if (entry["plaintext"] !== undefined) agent.plaintext = readBoolean(entry["plaintext"], fieldPath(field, "plaintext"));
    return agent;
  });
}

export async function saveFleet(home: string, agents: FleetAgent[]): Promise<void> {
  const path = fleetPath(home);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Tokens live here, so the file is private; written aside and renamed so it is never half-written.
  const aside = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, stringify({ agents }), { mode: 0o600 });
  await rename(aside, path);
}

/** The host a fleet entry reaches its agent at; a run's published ports are there unless the agent says otherwise. */
export function agentHost(agent: FleetAgent): string {
  const endpoint = parseEndpoint(agent.address, `${agent.name}.address`);
  return endpoint.kind === "tcp" ? endpoint.host : "127.0.0.1";
}
