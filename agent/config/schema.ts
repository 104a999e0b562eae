import { isIP } from "node:net";
import { type Endpoint, endpointTarget, isLocalOnly, parseEndpoint } from "../../shared/address.js";
import { parseDuration } from "../../shared/durations.js";
import { ValidationError } from "../../shared/errors.js";
import {
  fieldPath,
  readBoolean,
  readList,
  readMapping,
  readNonEmptyString,
  readNumber,
  readString,
  readStringMap,
  rejectUnknownKeys,
} from "../../shared/fields.js";
import { parseSize } from "../../shared/sizes.js";
import { DEFAULT_CATALOGUE, type ImageCatalogue } from "../images/catalogue.js";

export interface TokenEntry {
  user: string;
  /** Hex SHA-256 of the token; the token itself is never stored by the agent. */
  sha256: string;
}

export interface AgentConfig {
  name: string;
  labels: Record<string, string>;
  interruptible: boolean;
  listen: Endpoint;
  /** Plaintext gRPC, allowed only when `listen` is loopback or a Unix socket. */
  plaintext: boolean;
  dataDir: string;
  samplePeriodMs: number;
  reserved: { cpu: number; memoryBytes: number };
  /** What the agent offers to runs, instead of "everything less reserved" (may oversubscribe cpu). */
  allocatable: { cpu: number | undefined; memoryBytes: number | undefined };
  tokens: TokenEntry[];
  nvidiaSmi: { command: string; timeoutMs: number };
  dockerSocket: string;
  /** Host address container ports are published on. */
  publishAddress: string;
  /** What clients are told to connect to for published ports; "" means the address they reached the agent at. */
  advertiseHost: string;
  images: ImageCatalogue;
  stopTimeoutSeconds: number;
  orphanGraceMs: number;
}

/** Values that apply when neither the file nor a flag sets them. */
export interface ConfigDefaults {
  name: string;
  dataDir: string;
}

export const DEFAULT_LISTEN = "0.0.0.0:7433";

const KEYS = [
  "name",
  "labels",
  "interruptible",
  "listen",
  "plaintext",
  "data_dir",
  "sample_period",
  "reserved",
  "allocatable",
  "tokens",
  "nvidia_smi",
  "docker_socket",
  "publish_address",
  "advertise_host",
  "images",
  "stop_timeout",
  "orphan_grace",
] as const;

type Overrides = Partial<AgentConfig>;

/** Validates the YAML mapping of an agent config file; errors name the field (the caller adds the file). */
export function parseConfigFile(raw: unknown): Overrides {
  if (raw === null || raw === undefined) return {};
  const map = readMapping(raw, "");
  rejectUnknownKeys(map, KEYS, "");
  const out: Overrides = {};
  if (map["name"] !== undefined) out.name = readAgentName(map["name"], "name");
  if (map["labels"] !== undefined) out.labels = readStringMap(map["labels"], "labels");
  if (map["interruptible"] !== undefined) out.interruptible = readBoolean(map["interruptible"], "interruptible");
  if (map["listen"] !== undefined) out.listen = parseEndpoint(map["listen"], "listen", { listening: true });
  if (map["plaintext"] !== undefined) out.plaintext = readBoolean(map["plaintext"], "plaintext");
  if (map["data_dir"] !== undefined) out.dataDir = readAbsolutePath(map["data_dir"], "data_dir");
  if (map["sample_period"] !== undefined) out.samplePeriodMs = parseDuration(map["sample_period"], "sample_period");
  if (map["reserved"] !== undefined) out.reserved = readReserved(map["reserved"]);
  if (map["allocatable"] !== undefined) out.allocatable = readAllocatable(map["allocatable"]);
  if (map["tokens"] !== undefined) out.tokens = readTokens(map["tokens"]);
  if (map["nvidia_smi"] !== undefined) out.nvidiaSmi = readNvidiaSmi(map["nvidia_smi"]);
  if (map["docker_socket"] !== undefined) out.dockerSocket = readAbsolutePath(map["docker_socket"], "docker_socket");
  if (map["publish_address"] !== undefined) out.publishAddress = readIp(map["publish_address"], "publish_address");
  if (map["advertise_host"] !== undefined) out.advertiseHost = readNonEmptyString(map["advertise_host"], "advertise_host");
  if (map["images"] !== undefined) out.images = readImages(map["images"]);
  if (map["stop_timeout"] !== undefined) out.stopTimeoutSeconds = Math.max(1, Math.round(parseDuration(map["stop_timeout"], "stop_timeout") / 1000));
  if (map["orphan_grace"] !== undefined) out.orphanGraceMs = parseDuration(map["orphan_grace"], "orphan_grace");
  return out;
}

export interface FlagValues {
  listen?: string;
  dataDir?: string;
  name?: string;
  publishAddress?: string;
}

/** Validates command-line overrides; errors name the flag. */
export function parseFlags(flags: FlagValues): Overrides {
  const out: Overrides = {};
  if (flags.listen !== undefined) out.listen = parseEndpoint(flags.listen, "--listen", { listening: true });
  if (flags.dataDir !== undefined) out.dataDir = readAbsolutePath(flags.dataDir, "--data-dir");
  if (flags.name !== undefined) out.name = readAgentName(flags.name, "--name");
  if (flags.publishAddress !== undefined) out.publishAddress = readIp(flags.publishAddress, "--publish-address");
  return out;
}

/** Applies flags over the file over the defaults, then checks what only the whole config can tell. */
export function resolveConfig(file: Overrides, flags: Overrides, defaults: ConfigDefaults, source: string): AgentConfig {
  const merged = { ...file, ...flags };
  const config: AgentConfig = {
    name: merged.name ?? defaults.name,
    labels: merged.labels ?? {},
    interruptible: merged.interruptible ?? false,
    listen: merged.listen ?? parseEndpoint(DEFAULT_LISTEN, "listen"),
    plaintext: merged.plaintext ?? false,
    dataDir: merged.dataDir ?? defaults.dataDir,
    samplePeriodMs: merged.samplePeriodMs ?? 10_000,
    reserved: merged.reserved ?? { cpu: 0, memoryBytes: 0 },
    allocatable: merged.allocatable ?? { cpu: undefined, memoryBytes: undefined },
    tokens: merged.tokens ?? [],
    nvidiaSmi: merged.nvidiaSmi ?? { command: "nvidia-smi", timeoutMs: 10_000 },
    dockerSocket: merged.dockerSocket ?? "/var/run/docker.sock",
    publishAddress: merged.publishAddress ?? "0.0.0.0",
    advertiseHost: merged.advertiseHost ?? "",
    images: merged.images ?? DEFAULT_CATALOGUE,
    stopTimeoutSeconds: merged.stopTimeoutSeconds ?? 10,
    orphanGraceMs: merged.orphanGraceMs ?? 5 * 60_000,
  };
  if (config.plaintext && !isLocalOnly(config.listen)) {
    throw new ValidationError(
      "plaintext",
      "listen on loopback (127.0.0.1) or a unix: socket when plaintext is true",
      endpointTarget(config.listen),
      source,
    );
  }
  return config;
}

function readIp(value: unknown, field: string): string {
  const text = readNonEmptyString(value, field);
  if (isIP(text) === 0) throw new ValidationError(field, "an IP address such as 127.0.0.1 or 0.0.0.0", value);
  return text;
}

function readImages(value: unknown): ImageCatalogue {
  const map = readMapping(value, "images");
  rejectUnknownKeys(map, ["cpu", "gpu", "default_python"], "images");
  return {
    cpu: map["cpu"] === undefined ? DEFAULT_CATALOGUE.cpu : readNonEmptyString(map["cpu"], "images.cpu"),
    gpu: map["gpu"] === undefined ? DEFAULT_CATALOGUE.gpu : readNonEmptyString(map["gpu"], "images.gpu"),
    defaultPython:
      map["default_python"] === undefined ? DEFAULT_CATALOGUE.defaultPython : readPython(map["default_python"]),
  };
}

function readPython(value: unknown): string {
  const text = typeof value === "number" ? String(value) : readNonEmptyString(value, "images.default_python");
  if (!/^\d+(\.\d+)?$/.test(text)) throw new ValidationError("images.default_python", 'a version such as "3.11"', value);
  return text;
}

function readAgentName(value: unknown, field: string): string {
  const name = readNonEmptyString(value, field);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ValidationError(field, "a name of letters, digits, '.', '_' or '-' (at most 63)", value);
  }
  return name;
}

function readAbsolutePath(value: unknown, field: string): string {
  const path = readNonEmptyString(value, field);
  if (!path.startsWith("/")) throw new ValidationError(field, "an absolute path", value);
  return path;
}

function readReserved(value: unknown): AgentConfig["reserved"] {
  const map = readMapping(value, "reserved");
  rejectUnknownKeys(map, ["cpu", "memory"], "reserved");
  return {
    cpu: map["cpu"] === undefined ? 0 : readNumber(map["cpu"], "reserved.cpu", { min: 0 }),
    memoryBytes: map["memory"] === undefined ? 0 : parseSize(map["memory"], "reserved.memory"),
  };
}

function readAllocatable(value: unknown): AgentConfig["allocatable"] {
  const map = readMapping(value, "allocatable");
  rejectUnknownKeys(map, ["cpu", "memory"], "allocatable");
  return {
    cpu: map["cpu"] === undefined ? undefined : readNumber(map["cpu"], "allocatable.cpu", { min: 0 }),
    memoryBytes: map["memory"] === undefined ? undefined : parseSize(map["memory"], "allocatable.memory"),
  };
}

function readTokens(value: unknown): TokenEntry[] {
  return readList(value, "tokens").map((item, i) => {
    const field = fieldPath("tokens", i);
    const map = readMapping(item, field);
    rejectUnknownKeys(map, ["user", "sha256"], field);
    const sha256 = readString(map["sha256"], fieldPath(field, "sha256")).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new ValidationError(fieldPath(field, "sha256"), "64 hex digits (the SHA-256 of the token)", map["sha256"]);
    }
    return { user: readNonEmptyString(map["user"], fieldPath(field, "user")), sha256 };
  });
}

function readNvidiaSmi(value: unknown): AgentConfig["nvidiaSmi"] {
  const map = readMapping(value, "nvidia_smi");
  rejectUnknownKeys(map, ["command", "timeout"], "nvidia_smi");
  return {
    command: map["command"] === undefined ? "nvidia-smi" : readNonEmptyString(map["command"], "nvidia_smi.command"),
    timeoutMs: map["timeout"] === undefined ? 10_000 : parseDuration(map["timeout"], "nvidia_smi.timeout"),
  };
}
