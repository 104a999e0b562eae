import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { ContainerCreateOptions } from "dockerode";
import { SSH_CONTAINER_PORT, type ValidSpec, WORKFLOW_ROOT } from "../../shared/workflow/spec.js";
import type { Reservation } from "../ledger/ledger.js";
import { OUTPUT_MOUNT, entryScript } from "./entry-script.js";

/** Labels every berth container carries; recovery reads the reservation back from them. */
export const Labels = {
  managed: "berth.managed",
  agent: "berth.agent",
  runId: "berth.run-id",
  runName: "berth.run-name",
  owner: "berth.owner",
  specHash: "berth.spec-hash",
  gpus: "berth.gpus",
  cpu: "berth.cpu",
  memory: "berth.memory",
} as const;

/** Without shm_size, Docker's own default of 64 MB, still executable (some CUDA libraries map code from it). */
const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

export interface ContainerPlanInput {
  agentName: string;
  runId: string;
  runName: string;
  owner: string;
  spec: ValidSpec;
  reservation: Reservation;
  image: string;
  publishAddress: string;
  /** Host folders: <data>/cache/<owner>/<repo> and <data>/runs/<id>/artifacts. */
  cacheRoot: string;
  artifactsRoot: string;
  /** Host folder the container writes its stdout and stderr files into. */
  outputDir: string;
}

/** The user that ssh logs in as; the container runs as root. */
export const RUN_USER = "root";
const RUN_HOME = "/root";

export function containerName(agentName: string, runName: string): string {
  return `berth-${agentName}-${runName}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
}

export function absoluteWorkingDir(spec: ValidSpec): string {
  return spec.workingDir === "" ? WORKFLOW_ROOT : `${WORKFLOW_ROOT}/${spec.workingDir}`;
}

/** Pure: what `docker create` gets for a run. */
export function buildContainerSpec(input: ContainerPlanInput): ContainerCreateOptions {
  const { spec, reservation } = input;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of [SSH_CONTAINER_PORT, ...spec.ports.map((p) => p.container)]) {
    exposed[`${port}/tcp`] = {};
    // An empty HostPort asks Docker for an ephemeral port, so runs never collide.
    bindings[`${port}/tcp`] = [{ HostIp: input.publishAddress, HostPort: "" }];
  }

  const binds = [
    `${input.outputDir}:${OUTPUT_MOUNT}:rw`,
    ...spec.cache.map((entry) => {
      const source = posix.join(input.cacheRoot, entry.home ? "home" : "workflow", entry.path);
      const target = entry.home ? posix.join(RUN_HOME, entry.path) : posix.join(WORKFLOW_ROOT, entry.path);
      return `${source}:${target}:rw`;
    }),
    ...spec.artifacts
      .filter((artifact) => artifact.mount)
      .map((artifact) => `${posix.join(input.artifactsRoot, artifact.path)}:${posix.join(WORKFLOW_ROOT, artifact.path)}:rw`),
  ];

  const shmBytes = spec.resources.shmBytes ?? DEFAULT_SHM_BYTES;
  const hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]> = {
    PortBindings: bindings,
    Binds: binds,
    Tmpfs: { "/dev/shm": `rw,exec,nosuid,nodev,size=${shmBytes}` },
    SecurityOpt: ["no-new-privileges:true"],
    Privileged: false,
    RestartPolicy: { Name: "no" },
    Init: false,
  };
  if (reservation.cpu > 0) hostConfig.NanoCpus = Math.round(reservation.cpu * 1e9);
  if (reservation.memoryBytes > 0) hostConfig.Memory = reservation.memoryBytes;
  if (reservation.gpuUuids.length > 0) {
    hostConfig.DeviceRequests = [{ Driver: "nvidia", DeviceIDs: reservation.gpuUuids, Capabilities: [["gpu", "utility", "compute"]] }];
  }

  const script = entryScript({
    outputDir: OUTPUT_MOUNT,
    runId: input.runId,
    authorizedKeys: spec.authorizedKeys,
    env: spec.env,
    workingDir: absoluteWorkingDir(spec),
    setup: spec.setup,
    sshPort: SSH_CONTAINER_PORT,
  });

  return {
    name: containerName(input.agentName, input.runName),
    Image: input.image,
    Entrypoint: ["/bin/sh", "-c"],
    Cmd: [script],
    // Docker creates it when the container is created, so the code archive can be unpacked into it before start.
    WorkingDir: WORKFLOW_ROOT,
    Env: reservation.gpuUuids.length > 0 ? [`NVIDIA_VISIBLE_DEVICES=${reservation.gpuUuids.join(",")}`] : [],
    ExposedPorts: exposed,
    Labels: {
      [Labels.managed]: "true",
      [Labels.agent]: input.agentName,
      [Labels.runId]: input.runId,
      [Labels.runName]: input.runName,
      [Labels.owner]: input.owner,
      [Labels.specHash]: specHash(spec),
      [Labels.gpus]: reservation.gpuUuids.join(","),
      [Labels.cpu]: String(reservation.cpu),
      [Labels.memory]: String(reservation.memoryBytes),
    },
    HostConfig: hostConfig,
    Tty: false,
    OpenStdin: false,
  };
}

/** Identifies what a container was created for, without the code archive. */
export function specHash(spec: ValidSpec): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
}

/** The reservation a container's labels record, for recovery. */
export function reservationFromLabels(labels: Record<string, string>): Reservation | undefined {
  const runId = labels[Labels.runId];
  if (!runId) return undefined;
  return {
    runId,
    gpuUuids: (labels[Labels.gpus] ?? "").split(",").filter(Boolean),
    cpu: Number(labels[Labels.cpu] ?? 0) || 0,
    memoryBytes: Number(labels[Labels.memory] ?? 0) || 0,
  };
}
