import { mkdir } from "node:fs/promises";
import { setLogger } from "@grpc/grpc-js";
import Docker from "dockerode";
import type { Logger } from "pino";
import { endpointTarget } from "../shared/address.js";
import { BERTH_VERSION } from "../shared/version.js";
import type { AgentConfig } from "./config/schema.js";
import { validateSpec } from "../shared/workflow/spec.js";
import { createDockerEngine } from "./docker/engine.js";
import { Ledger } from "./ledger/ledger.js";
import { RunManager } from "./runs/run-manager.js";
import { createDockerProbe } from "./inventory/docker-probe.js";
import { createHostProbe } from "./inventory/host-probe.js";
import { createNvidiaSmiProbe } from "./inventory/nvidia-smi/probe.js";
import { InventorySampler } from "./inventory/sampler.js";
import { createAgentService } from "./rpc/agent-service.js";
import { createHealthService } from "./rpc/health-service.js";
import { type BoundServer, startRpcServer } from "./rpc/server.js";
import { writeServingFile } from "./serving-file.js";
import { ensureCertificate } from "./security/tls.js";
import { TokenAuthority, ensureLocalToken } from "./security/tokens.js";

export interface RunningAgent {
  server: BoundServer;
  stop(): Promise<void>;
}

/** The one place that wires the agent: config → inventory → rpc. */
export async function serveAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  // grpc-js writes its own diagnostics to stderr; they belong in the structured log.
  setLogger({
    error: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc"),
    info: (...args: unknown[]) => log.debug({ grpc: args.join(" ") }, "grpc"),
    debug: (...args: unknown[]) => log.trace({ grpc: args.join(" ") }, "grpc"),
  });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const certificate = config.plaintext ? undefined : await ensureCertificate(config.dataDir, config.name);
  if (certificate?.created) log.info({ fingerprint: certificate.fingerprint }, "generated a self-signed TLS certificate");
  await ensureLocalToken(config.dataDir);
  const authenticator = new TokenAuthority(config.dataDir, config.tokens);
  await authenticator.load();

  const docker = new Docker({ socketPath: config.dockerSocket });
  const ledger = new Ledger();
  const sampler = new InventorySampler({
    identity: {
      name: config.name,
      version: BERTH_VERSION,
      labels: config.labels,
      interruptible: config.interruptible,
      reservedCores: config.reserved.cpu,
      reservedMemoryBytes: config.reserved.memoryBytes,
      ...(config.allocatable.cpu !== undefined ? { allocatableCores: config.allocatable.cpu } : {}),
      ...(config.allocatable.memoryBytes !== undefined ? { allocatableMemoryBytes: config.allocatable.memoryBytes } : {}),
    },
    host: createHostProbe(config.dataDir),
    gpu: createNvidiaSmiProbe(config.nvidiaSmi),
    docker: createDockerProbe(docker, config.dockerSocket),
    allocations: ledger,
    periodMs: config.samplePeriodMs,
    onError: (err) => log.warn({ err }, "inventory sample failed"),
  });
  await sampler.start();
  const first = sampler.current();
  log.info(
    {
      gpus: first.gpus.length,
      gpuDriver: first.gpuDriver,
      docker: first.docker,
    },
    "first inventory sample taken",
  );

  const runs = new RunManager({
    engine: createDockerEngine(docker),
    validate: (spec) => {
      try {
        return spec ? validateSpec(spec) : undefined;
      } catch {
        return undefined;
      }
    },
    ledger,
    inventory: () => sampler.current(),
    config: {
      agentName: config.name,
      dataDir: config.dataDir,
      publishAddress: config.publishAddress,
      advertiseHost: config.advertiseHost,
      images: config.images,
      stopTimeoutSeconds: config.stopTimeoutSeconds,
      orphanGraceMs: config.orphanGraceMs,
    },
    log,
  });
  if (first.docker?.healthy) await runs.recover();
  else log.warn({ docker: first.docker }, "docker is down: runs are not recovered until the agent restarts with docker up");

  const server = await startRpcServer(
    config.listen,
    config.plaintext ? { plaintext: true } : { plaintext: false, certPem: certificate!.certPem, keyPem: certificate!.keyPem },
    {
      agent: createAgentService({ inventory: sampler, runs, authenticator, log }),
      health: createHealthService(["berth.v1.Agent"]),
    },
  );
  await writeServingFile(config.dataDir, { name: config.name, address: server.target, pid: process.pid, fingerprint: certificate?.fingerprint ?? "" });
  log.info(
    { listen: server.target, tls: !config.plaintext, fingerprint: certificate?.fingerprint, requested: endpointTarget(config.listen) },
    "berth-agent is serving",
  );

  return {
    server,
    async stop() {
      sampler.stop();
      await server.shutdown(5000);
    },
  };
}
