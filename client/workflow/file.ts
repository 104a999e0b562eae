import { LineCounter, type Node, isScalar, parseDocument } from "yaml";
import { ValidationError } from "../../shared/errors.js";
import { type Mapping, fieldPath, isMapping, readBoolean, readList, readMapping, readNonEmptyString, readNumber, readString, rejectUnknownKeys } from "../../shared/fields.js";
import { RunSpec } from "../../shared/gen/berth/v1/run.js";
import { validateSpec } from "../../shared/workflow/spec.js";
import { UsageError } from "../exit.js";
import { parseGpuFlag } from "./gpu-flag.js";

/** A workflow file's bad value: `file:line: field: expected …, got …`; exits 2 like any usage error. */
export class WorkflowFileError extends UsageError {}

export const WORKFLOW_KEYS = ["name", "provider", "setup", "python", "env", "artifacts", "resources", "ports", "working_dir", "cache", "image"] as const;

/**
 * Reads `.berth/workflows.yaml` (the dstack 0.x shape: `workflows: [{name,
 * provider: ssh, ...properties}]`) and returns workflow `name` as a RunSpec.
 * The properties are checked with the shared validator here, so a mistake is
 * reported with the file, the line and the field before anything is sent.
 */
export function workflowFromYaml(text: string, file: string, name: string): RunSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0]?.line;
    throw new WorkflowFileError(`${file}${line ? `:${line}` : ""}: not valid YAML: ${syntax.message.split("\n")[0]}`);
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as Node | undefined;
      const start = (node as { range?: [number, number, number] } | undefined)?.range?.[0];
      if (start !== undefined) return lines.linePos(start).line;
    }
    return undefined;
  };
  const fail = (error: ValidationError, prefix: (string | number)[]): never => {
    const path = [...prefix, ...toPath(error.field)];
    const line = lineOf(path);
    throw new WorkflowFileError(`${file}${line ? `:${line}` : ""}: ${formatPath(path)}: expected ${error.expected}, got ${describeGot(error)}`);
  };

  let workflows: unknown[];
  try {
    const root = readMapping(doc.toJS() ?? {}, "");
    rejectUnknownKeys(root, ["workflows"], "");
    workflows = readList(root["workflows"] ?? [], "workflows");
  } catch (error) {
    if (error instanceof ValidationError) fail(error, []);
    throw error;
  }
  const index = workflows.findIndex((item) => isMapping(item) && item["name"] === name);
  if (index < 0) {
    const known = workflows.filter(isMapping).map((item) => String(item["name"] as string));
    throw new WorkflowFileError(`${file}: no workflow named ${JSON.stringify(name)}; the file has ${known.length > 0 ? known.join(", ") : "none"}`);
  }
  const prefix = ["workflows", index];
  try {
    const item = readMapping(workflows[index], "");
    const spec = toRunSpec(item, (path) => scalarSource(doc.getIn([...prefix, ...path], true)));
    validateSpec(spec);
    return spec;
  } catch (error) {
    if (error instanceof ValidationError) fail(error, prefix);
    throw error;
  }
}

function toRunSpec(item: Mapping, source: (path: (string | number)[]) => string | undefined): RunSpec {
  rejectUnknownKeys(item, WORKFLOW_KEYS, "");
  const provider = item["provider"] ?? "ssh";
  if (provider !== "ssh") throw new ValidationError("provider", '"ssh" (the only provider berth runs)', provider);
  const spec = RunSpec.create();
  spec.name = readNonEmptyString(item["name"], "name");
  if (item["setup"] !== undefined) spec.setup = stringList(item["setup"], "setup");
  // YAML reads `python: 3.10` as the number 3.1; the source text is what the user meant.
  if (item["python"] !== undefined) spec.python = typeof item["python"] === "number" ? (source(["python"]) ?? String(item["python"])) : readString(item["python"], "python");
  if (item["env"] !== undefined) spec.env = envList(item["env"]);
  if (item["artifacts"] !== undefined) {
    spec.artifacts = readList(item["artifacts"], "artifacts").map((entry, i) => {
      const field = fieldPath("artifacts", i);
      if (typeof entry === "string") return { path: entry, mount: false };
      const map = readMapping(entry, field);
      rejectUnknownKeys(map, ["path", "mount"], field);
      return { path: readNonEmptyString(map["path"], fieldPath(field, "path")), mount: map["mount"] === undefined ? false : readBoolean(map["mount"], fieldPath(field, "mount")) };
    });
  }
  if (item["resources"] !== undefined) spec.resources = resources(item["resources"]);
  if (item["ports"] !== undefined) spec.ports = readList(item["ports"], "ports").map((port, i) => scalarText(port, fieldPath("ports", i)));
  if (item["working_dir"] !== undefined) spec.workingDir = readNonEmptyString(item["working_dir"], "working_dir");
  if (item["cache"] !== undefined) {
    spec.cache = readList(item["cache"], "cache").map((entry, i) => {
      const field = fieldPath("cache", i);
      if (typeof entry === "string") return { path: entry };
      const map = readMapping(entry, field);
      rejectUnknownKeys(map, ["path"], field);
      return { path: readNonEmptyString(map["path"], fieldPath(field, "path")) };
    });
  }
  if (item["image"] !== undefined) spec.image = readNonEmptyString(item["image"], "image");
  return spec;
}

function resources(value: unknown): RunSpec["resources"] {
  const map = readMapping(value, "resources");
  rejectUnknownKeys(map, ["cpu", "memory", "gpu", "shm_size", "interruptible"], "resources");
  const out = { cpu: 0, memory: "", gpu: undefined as { count: number; name: string; memory: string } | undefined, shmSize: "", interruptible: false };
  if (map["cpu"] !== undefined) out.cpu = readNumber(map["cpu"], "resources.cpu", { min: 0 });
  if (map["memory"] !== undefined) out.memory = scalarText(map["memory"], "resources.memory");
  if (map["shm_size"] !== undefined) out.shmSize = scalarText(map["shm_size"], "resources.shm_size");
  if (map["interruptible"] !== undefined) out.interruptible = readBoolean(map["interruptible"], "resources.interruptible");
  const gpu = map["gpu"];
  if (typeof gpu === "number" || typeof gpu === "string") {
    out.gpu = parseGpuFlag(String(gpu), "resources.gpu");
  } else if (gpu !== undefined) {
    const g = readMapping(gpu, "resources.gpu");
    rejectUnknownKeys(g, ["count", "name", "memory"], "resources.gpu");
    out.gpu = {
      count: g["count"] === undefined ? 0 : readNumber(g["count"], "resources.gpu.count", { min: 0, integer: true }),
      name: g["name"] === undefined ? "" : readNonEmptyString(g["name"], "resources.gpu.name"),
      memory: g["memory"] === undefined ? "" : scalarText(g["memory"], "resources.gpu.memory"),
    };
  }
  return out;
}

function envList(value: unknown): string[] {
  if (isMapping(value)) return Object.entries(value).map(([key, item]) => `${key}=${item === null ? "" : scalarText(item, fieldPath("env", key))}`);
  return readList(value, "env").map((entry, i) => scalarText(entry, fieldPath("env", i)));
}

function stringList(value: unknown, field: string): string[] {
  if (typeof value === "string") return [value];
  return readList(value, field).map((entry, i) => readString(entry, fieldPath(field, i)));
}

function scalarText(value: unknown, field: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new ValidationError(field, "a string or a number", value);
}

function scalarSource(node: unknown): string | undefined {
  return isScalar(node) && typeof node.source === "string" ? node.source : undefined;
}

/** `resources.gpu.memory` / `ports[2]` → path segments for the YAML document. */
function toPath(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const part of field.split(".")) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) {
      path.push(part);
      continue;
    }
    if (match[1]) path.push(match[1]);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${part}` : part), "");
}

function describeGot(error: ValidationError): string {
  const match = /, got (.*)$/s.exec(error.message);
  return match?.[1] ?? "nothing";
}
