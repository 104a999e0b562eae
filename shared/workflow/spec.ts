import { posix } from "node:path";
import { ValidationError } from "../errors.js";
import { fieldPath } from "../fields.js";
import type { RunSpec } from "../gen/berth/v1/run.js";
import { type Range, parseSizeRange } from "../ranges.js";
import type { GpuRequirement } from "../resources/gpu-match.js";
import { parseSize } from "../sizes.js";

/** The container port our sshd listens on; workflows cannot claim it. */
export const SSH_CONTAINER_PORT = 10022;
export const WORKFLOW_ROOT = "/workflow";

export interface PortSpec {
  /** Where the client forwards it on the user's machine. */
  local: number;
  container: number;
}

export interface ValidSpec {
  name: string | undefined;
  setup: string[];
  python: string | undefined;
  env: { key: string; value: string }[];
  artifacts: { path: string; mount: boolean }[];
  ports: PortSpec[];
  /** Relative to /workflow, normalized; "" is /workflow itself. */
  workingDir: string;
  /** `home` caches live under the user's home instead of /workflow. */
  cache: { path: string; home: boolean }[];
  image: string | undefined;
  authorizedKeys: string[];
  resources: {
    cpu: number;
    memoryBytes: number | undefined;
    gpu: GpuRequirement;
    shmBytes: number | undefined;
    interruptible: boolean;
  };
  owner: string;
  repo: string;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCOPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const PUBLIC_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\r\n]*)?$/;

/**
 * Checks a RunSpec. The agent runs it at the RPC boundary and the client runs
 * it before sending, so both reject the same things with the same words.
 * Field names are the workflow file's (snake_case).
 */
export function validateSpec(spec: RunSpec): ValidSpec {
  const name = spec.name === "" ? undefined : spec.name;
  if (name !== undefined && !NAME.test(name)) {
    throw new ValidationError("name", "lower-case letters, digits and '-', starting with a letter or digit (at most 63)", name);
  }
  const setup = spec.setup.map((command, i) => {
    if (command.includes("\0")) throw new ValidationError(fieldPath("setup", i), "a shell command without NUL bytes", command);
    return command;
  });
  const python = spec.python === "" ? undefined : spec.python;
  if (python !== undefined && !/^\d+(\.\d+)?$/.test(python)) throw new ValidationError("python", 'a version such as "3.11"', python);

  const env = spec.env.map((entry, i) => {
    const field = fieldPath("env", i);
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (eq < 0 || !ENV_KEY.test(key)) throw new ValidationError(field, "KEY=VALUE with KEY a letter or _ followed by letters, digits or _", entry);
    if (entry.includes("\0")) throw new ValidationError(field, "a value without NUL bytes", entry);
    return { key, value: entry.slice(eq + 1) };
  });

  const artifacts = spec.artifacts.map((artifact, i) => ({
    path: workflowPath(artifact.path, fieldPath(fieldPath("artifacts", i), "path"), false),
    mount: artifact.mount,
  }));
  const cache = spec.cache.map((entry, i) => {
    const field = fieldPath(fieldPath("cache", i), "path");
    if (entry.path === "~" || entry.path.startsWith("~/")) return { path: homePath(entry.path, field), home: true };
    return { path: workflowPath(entry.path, field, false), home: false };
  });
  const workingDir = spec.workingDir === "" ? "" : workflowPath(spec.workingDir, "working_dir", true);

  const ports = parsePorts(spec.ports);
  const image = spec.image === "" ? undefined : spec.image;
  if (image !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(image)) {
    throw new ValidationError("image", "an image reference such as debian:bookworm or registry/name:tag", image);
  }
  const authorizedKeys = spec.authorizedKeys.map((key, i) => {
    const trimmed = key.trim();
    if (!PUBLIC_KEY.test(trimmed)) throw new ValidationError(fieldPath("authorized_keys", i), "an OpenSSH public key line", key);
    return trimmed;
  });

  const resources = spec.resources;
  const cpu = resources?.cpu ?? 0;
  if (!Number.isFinite(cpu) || cpu < 0) throw new ValidationError("resources.cpu", "a number of cores ≥ 0", cpu);
  const gpu = resources?.gpu;
  const gpuMemory: Range = gpu?.memory ? parseSizeRange(gpu.memory, "resources.gpu.memory") : {};
  const gpuName = gpu?.name ? gpu.name.trim() : undefined;
  // Naming a model or memory without a count means one GPU, as in dstack.
  const count = gpu?.count ? gpu.count : gpuName || gpu?.memory ? 1 : 0;
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new ValidationError("resources.gpu.count", "an integer from 0 to 64", count);

  return {
    name,
    setup,
    python,
    env,
    artifacts,
    ports,
    workingDir,
    cache,
    image,
    authorizedKeys,
    resources: {
      cpu,
      memoryBytes: resources?.memory ? positiveSize(resources.memory, "resources.memory") : undefined,
      gpu: { count, ...(gpuName ? { name: gpuName } : {}), memory: gpuMemory },
      shmBytes: resources?.shmSize ? positiveSize(resources.shmSize, "resources.shm_size") : undefined,
      interruptible: resources?.interruptible ?? false,
    },
    owner: scope(spec.owner, "owner", "local"),
    repo: scope(spec.repo, "repo", "default"),
  };
}

/** Normalizes a path that must stay inside /workflow; returns it relative to /workflow. */
export function workflowPath(value: string, field: string, allowRoot: boolean): string {
  const expected = "a relative path inside /workflow";
  if (value.includes("\0") || value.trim() === "") throw new ValidationError(field, expected, value);
  let path = value;
  if (posix.isAbsolute(path)) {
    if (path !== WORKFLOW_ROOT && !path.startsWith(`${WORKFLOW_ROOT}/`)) throw new ValidationError(field, expected, value);
    path = path.slice(WORKFLOW_ROOT.length);
  }
  const normalized = posix.normalize(`./${path}`).replace(/\/+$/, "");
  if (normalized === ".." || normalized.startsWith("../")) throw new ValidationError(field, expected, value);
  if (normalized === "." && !allowRoot) throw new ValidationError(field, "a folder inside /workflow, not /workflow itself", value);
  return normalized === "." ? "" : normalized;
}

function homePath(value: string, field: string): string {
  const rest = posix.normalize(`./${value.slice(1)}`).replace(/\/+$/, "");
  if (rest === "." || rest === ".." || rest.startsWith("../")) throw new ValidationError(field, "a folder under ~/", value);
  return rest;
}

function parsePorts(entries: string[]): PortSpec[] {
  const ports: PortSpec[] = [];
  entries.forEach((entry, i) => {
    const field = fieldPath("ports", i);
    const match = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(entry.trim());
    const first = match ? Number(match[1]) : NaN;
    const second = match?.[2] !== undefined ? Number(match[2]) : first;
    const valid = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;
    if (!match || !valid(first) || !valid(second)) throw new ValidationError(field, 'PORT or LOCAL:CONTAINER with ports from 1 to 65535, e.g. "8080" or "8080:9090"', entry);
    const port = { local: first, container: second };
    if (port.container === SSH_CONTAINER_PORT) throw new ValidationError(field, `a port other than ${SSH_CONTAINER_PORT} (reserved for the run's sshd)`, entry);
    if (ports.some((other) => other.container === port.container || other.local === port.local)) {
      throw new ValidationError(field, "a port not already listed", entry);
    }
    ports.push(port);
  });
  return ports;
}

function positiveSize(value: string, field: string): number {
  const bytes = parseSize(value, field);
  if (bytes <= 0) throw new ValidationError(field, "a size above zero", value);
  return bytes;
}

function scope(value: string, field: string, fallback: string): string {
  if (value === "") return fallback;
  if (!SCOPE.test(value) || value === "." || value === "..") throw new ValidationError(field, "letters, digits, '.', '_' or '-'", value);
  return value;
}
