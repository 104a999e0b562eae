import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AlreadyExistsError, BerthError, NotFoundError, ValidationError } from "../../shared/errors.js";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { OutputStream, type Ready, type Run, type RunEvent, type RunSpec, RunState } from "../../shared/gen/berth/v1/run.js";
import { SSH_CONTAINER_PORT, type ValidSpec } from "../../shared/workflow/spec.js";
import type { ContainerEngine } from "../docker/engine.js";
import { type ImageCatalogue, buildHint, resolveImage } from "../images/catalogue.js";
import type { Ledger, Reservation } from "../ledger/ledger.js";
import { copyArtifactsOut } from "./artifacts.js";
import { Labels, RUN_USER, absoluteWorkingDir, buildContainerSpec, reservationFromLabels } from "./container-spec.js";
import { MARKER, Markers } from "./entry-script.js";
import { EventLog } from "./event-log.js";
import { OutputTailer, lastLines } from "./output-tailer.js";
import { isTerminal, runStateName as stateName } from "../../shared/run-state.js";
import { type RunRecord, loadRecords, outputDir, runDir, saveRecord } from "./run-record.js";

export interface RunManagerConfig {
  agentName: string;
  dataDir: string;
  publishAddress: string;
  /** What Ready.host says; empty means "the host you reached the agent at". */
  advertiseHost: string;
  images: ImageCatalogue;
  stopTimeoutSeconds: number;
  /** Labelled containers no run knows are removed once this old. */
  orphanGraceMs: number;
}

export interface RunManagerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RunManagerDeps {
  engine: ContainerEngine;
  /** The RPC boundary's validator, to rebuild a recovered run's spec from its record (undefined if it no longer passes). */
  validate: (spec: RunSpec | undefined) => ValidSpec | undefined;
  ledger: Ledger;
  inventory: () => Inventory;
  config: RunManagerConfig;
  log: RunManagerLog;
  now?: () => Date;
}

const FAILURE_TAIL_LINES = 10;

interface LiveRun {
  record: RunRecord;
  events: EventLog;
  spec: ValidSpec | undefined;
  /** Stops log following when the run is being torn down. */
  follow: AbortController;
  following: Promise<void> | undefined;
  tail: string[];
  /** The streams the ready marker has come through; ready needs both. */
  readyOn: Set<"stdout" | "stderr">;
  sawReady: boolean;
  stopping: Promise<Run> | undefined;
}

/**
 * Runs' whole lives: reserve, image, container, setup, ready, stop, and
 * recovery after a restart. Container labels and run folders are the truth;
 * what is held here is a cache of them.
 */
export class RunManager {
  private readonly runs = new Map<string, LiveRun>();
  private readonly now: () => Date;

  constructor(private readonly deps: RunManagerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  // ---- start -------------------------------------------------------------

  /**
   * Reserves and registers the run synchronously (so concurrent callers
   * serialize here), then builds it in the background. Returns the run id;
   * follow it with watch().
   */
  start(spec: ValidSpec, raw: RunSpec, user: string): string {
    const name = spec.name ?? this.generateName();
    for (const live of this.runs.values()) {
      if (live.record.run.name === name && !isTerminal(live.record.run.state)) {
        throw new AlreadyExistsError(`a run named ${JSON.stringify(name)} already exists on ${this.deps.config.agentName}`);
      }
    }
    const inventory = this.deps.inventory();
    const id = `run-${randomBytes(5).toString("hex")}`;
    const reservation = this.deps.ledger.reserve(
      id,
      {
        cpu: spec.resources.cpu,
        memoryBytes: spec.resources.memoryBytes ?? 0,
        gpu: spec.resources.gpu,
        interruptible: spec.resources.interruptible,
      },
      {
        allocatableCores: inventory.cpu?.allocatableCores ?? 0,
        allocatableMemoryBytes: Number(inventory.memory?.bytesAllocatable ?? 0n),
        gpus: inventory.gpus,
        interruptible: inventory.agent?.interruptible ?? false,
      },
    );
    try {
      const image = resolveImage(this.deps.config.images, { image: spec.image, python: spec.python, gpus: reservation.gpuUuids.length });
      const now = this.now();
      const run: Run = {
        id,
        name,
        state: RunState.RUN_STATE_PENDING,
        reason: "",
        message: "",
        spec: { ...raw, codeArchive: Buffer.alloc(0), name },
        owner: user,
        gpuUuids: reservation.gpuUuids,
        cpu: reservation.cpu,
        memoryBytes: BigInt(reservation.memoryBytes),
        containerId: "",
        image,
        ready: undefined,
        createdAt: now,
        updatedAt: now,
        lastSeq: 0n,
      };
      const live = this.register({ run, hostPublicKey: "" }, spec, EventLog.create(this.eventsPath(id), id, this.now));
      this.transition(live, RunState.RUN_STATE_PENDING);
      void this.build(live, raw.codeArchive, reservation).catch((error: unknown) => this.fail(live, "internal", (error as Error).message));
      return id;
    } catch (error) {
      this.deps.ledger.release(id);
      throw error;
    }
  }

  private async build(live: LiveRun, codeArchive: Buffer, reservation: Reservation): Promise<void> {
    const { run } = live.record;
    const { engine, config } = this.deps;
    const spec = live.spec!;

    if (!(await engine.imageExists(run.image))) {
      this.transition(live, RunState.RUN_STATE_PULLING);
      try {
        await engine.pullImage(run.image, (progress) =>
          live.events.append({ event: { $case: "pull", value: { image: run.image, ...progress, current: BigInt(progress.current), total: BigInt(progress.total) } } }),
        );
      } catch (error) {
        await this.fail(live, "image_unavailable", `image ${run.image} is not on this agent and could not be pulled (${firstLine(error)}); build it with: ${buildHint(run.image)}`);
        return;
      }
    }
    if (this.isStoppingOrDone(live)) return;

    this.transition(live, RunState.RUN_STATE_CREATING);
    const owner = spec.owner === "local" && run.owner ? run.owner : spec.owner;
    const cacheRoot = join(config.dataDir, "cache", owner, spec.repo);
    const artifactsRoot = join(runDir(config.dataDir, run.id), "artifacts");
    mkdirSync(artifactsRoot, { recursive: true });
    mkdirSync(outputDir(config.dataDir, run.id), { recursive: true });
    for (const artifact of spec.artifacts) if (artifact.mount) mkdirSync(join(artifactsRoot, artifact.path), { recursive: true });
    for (const entry of spec.cache) mkdirSync(join(cacheRoot, entry.home ? "home" : "workflow", entry.path), { recursive: true });
    const options = buildContainerSpec({
      agentName: config.agentName,
      runId: run.id,
      runName: run.name,
      owner: run.owner,
      spec,
      reservation,
      image: run.image,
      publishAddress: config.publishAddress,
      cacheRoot,
      artifactsRoot,
      outputDir: outputDir(config.dataDir, run.id),
    });
    try {
      run.containerId = await engine.create(options);
      this.persist(live);
      if (codeArchive.length > 0) await engine.putArchive(run.containerId, codeArchive, "/workflow");
      if (this.isStoppingOrDone(live)) return;
      await engine.start(run.containerId);
    } catch (error) {
      await this.fail(live, "start_failed", `the container could not be started: ${firstLine(error)}`);
      return;
    }
    this.transition(live, RunState.RUN_STATE_SETTING_UP);
    this.followContainer(live);
  }

  // ---- following a live container -----------------------------------------

  /** Tails the run's stdout and stderr files until the container exits and both are drained. */
  private followContainer(live: LiveRun): void {
    const { run } = live.record;
    const dir = outputDir(this.deps.config.dataDir, run.id);
    let exited = false;
    const exit = this.deps.engine.wait(run.containerId).then(
      () => {
        exited = true;
      },
      (error: unknown) => {
        exited = true;
        this.deps.log.warn({ run: run.id, err: error }, "waiting for the container failed");
      },
    );
    const tail = (stream: "stdout" | "stderr") =>
      new OutputTailer(join(dir, stream), live.events.outputOffsets[stream], (text, offset) => this.consume(live, stream, text, offset)).run(
        () => exited,
        live.follow.signal,
      );
    const following = Promise.all([exit, tail("stdout"), tail("stderr")]).then(() => undefined);
    // teardown() waits for `following` itself, not for this reaction to it (which may be what runs teardown).
    live.following = following.catch(() => undefined);
    following
      .then(
        () => this.onContainerStreamEnded(live),
        (error: unknown) => this.onContainerStreamEnded(live, error),
      )
      .catch((error: unknown) => this.deps.log.error({ err: error, run: run.id }, "handling the end of a container failed"));
  }

  private consume(live: LiveRun, stream: "stdout" | "stderr", text: string, offset: number): void {
    live.events.outputOffsets[stream] = offset;
    const kind = stream === "stderr" ? OutputStream.OUTPUT_STREAM_STDERR : OutputStream.OUTPUT_STREAM_STDOUT;
    if (!text.includes(MARKER)) {
      this.emitOutput(live, kind, text, offset);
      return;
    }
    // Rare: a block holding one of our marker lines. Split it so markers never reach the client.
    let pending = "";
    let position = offset - Buffer.byteLength(text);
    for (const line of text.split("\n").slice(0, -1)) {
      position += Buffer.byteLength(line) + 1;
      if (line.startsWith(MARKER)) {
        if (pending !== "") this.emitOutput(live, kind, pending, position - Buffer.byteLength(line) - 1);
        pending = "";
        this.onMarker(live, stream, line);
      } else {
        pending += `${line}\n`;
      }
    }
    if (pending !== "") this.emitOutput(live, kind, pending, offset);
  }

  private emitOutput(live: LiveRun, stream: OutputStream, text: string, offset: number): void {
    for (const line of lastLines(text, FAILURE_TAIL_LINES)) {
      live.tail.push(line);
      if (live.tail.length > FAILURE_TAIL_LINES) live.tail.shift();
    }
    live.events.append({ event: { $case: "output", value: { stream, text, offset: BigInt(offset) } } });
  }

  private onMarker(live: LiveRun, stream: "stdout" | "stderr", text: string): void {
    if (text.startsWith(Markers.hostKey)) {
      live.record.hostPublicKey = text.slice(Markers.hostKey.length).trim();
      this.persist(live);
    } else if (text === Markers.ready) {
      live.readyOn.add(stream);
      if (live.readyOn.size < 2 || live.sawReady) return;
      live.sawReady = true;
      void this.announceReady(live).catch((error: unknown) => this.fail(live, "internal", (error as Error).message));
    } else if (text.startsWith(Markers.sshdFailed)) {
      live.tail.push(`sshd: ${text.slice(Markers.sshdFailed.length)}`);
    }
  }

  private async announceReady(live: LiveRun): Promise<void> {
    const { run } = live.record;
    if (run.state === RunState.RUN_STATE_RUNNING && run.ready) return;
    const state = await this.deps.engine.inspect(run.containerId);
    if (!state?.running) return;
    const spec = live.spec;
    const ready: Ready = {
      host: this.deps.config.advertiseHost,
      sshPort: state.ports.get(SSH_CONTAINER_PORT) ?? 0,
      user: RUN_USER,
      hostPublicKey: live.record.hostPublicKey,
      ports: (spec?.ports ?? []).map((port) => ({ container: port.container, host: state.ports.get(port.container) ?? 0, local: port.local })),
      workingDir: spec ? absoluteWorkingDir(spec) : "",
    };
    run.ready = ready;
    live.events.append({ event: { $case: "ready", value: ready } });
    this.transition(live, RunState.RUN_STATE_RUNNING);
  }

  private async onContainerStreamEnded(live: LiveRun, error?: unknown): Promise<void> {
    if (live.follow.signal.aborted || this.isStoppingOrDone(live)) return;
    const state = await this.deps.engine.inspect(live.record.run.containerId).catch(() => undefined);
    if (state?.running) {
      // The log stream broke (dockerd restart?) while the container lives: follow again from the cursor.
      this.deps.log.warn({ run: live.record.run.id, err: error }, "log stream ended while the container runs; re-attaching");
      setTimeout(() => this.followContainer(live), 500).unref();
      return;
    }
    const code = state?.exitCode ?? -1;
    const lastLines = live.tail.length > 0 ? `; last lines:\n${live.tail.join("\n")}` : "";
    if (!state) {
      await this.fail(live, "lost", "the container disappeared");
    } else if (!live.sawReady) {
      const oom = state.oomKilled ? " (killed: out of memory)" : "";
      await this.fail(live, "setup_failed", `setup failed with exit code ${code}${oom}${lastLines}`);
    } else {
      await this.fail(live, "exited", `the container exited with code ${code}${state.oomKilled ? " (out of memory)" : ""}${lastLines}`);
    }
  }

  // ---- stop / fail ---------------------------------------------------------

  stop(ref: string, options: { timeoutSeconds?: number; abort?: boolean }): Promise<Run> {
    const live = this.find(ref);
    if (isTerminal(live.record.run.state)) return Promise.resolve(this.snapshot(live));
    live.stopping ??= (async () => {
      this.transition(live, RunState.RUN_STATE_STOPPING);
      await this.teardown(live, options.abort ? 0 : (options.timeoutSeconds || this.deps.config.stopTimeoutSeconds));
      this.finish(live, RunState.RUN_STATE_STOPPED, "stopped", options.abort ? "aborted by request" : "stopped by request");
      return this.snapshot(live);
    })();
    return live.stopping;
  }

  private async fail(live: LiveRun, reason: string, message: string): Promise<void> {
    if (isTerminal(live.record.run.state)) return;
    this.deps.log.warn({ run: live.record.run.id, reason, message }, "run failed");
    // A failed run's container is kept (stopped, holding nothing) for post-mortem `docker inspect`/`docker logs`,
    // then removed like any container no live run owns.
    await this.teardown(live, 0, { keepContainer: true }).catch((error: unknown) =>
      this.deps.log.error({ err: error, run: live.record.run.id }, "teardown failed"),
    );
    if (live.record.run.containerId !== "") this.scheduleOrphanRemoval(live.record.run.containerId, Date.now());
    this.finish(live, RunState.RUN_STATE_FAILED, reason, message);
  }

  /** Stops the container, copies artifacts out, removes it. Resources are released by finish(). */
  private async teardown(live: LiveRun, timeoutSeconds: number, options: { keepContainer?: boolean } = {}): Promise<void> {
    const { engine } = this.deps;
    const { run } = live.record;
    if (run.containerId === "") return;
    if (timeoutSeconds > 0) await engine.stop(run.containerId, timeoutSeconds);
    else await engine.kill(run.containerId);
    live.follow.abort();
    await live.following?.catch(() => undefined);
    const spec = live.spec;
    if (spec) {
      const copied = spec.artifacts.filter((artifact) => !artifact.mount);
      if (copied.length > 0) {
        await copyArtifactsOut(engine, run.containerId, copied, join(runDir(this.deps.config.dataDir, run.id), "artifacts")).catch(
          (error: unknown) => this.deps.log.warn({ err: error, run: run.id }, "copying artifacts failed"),
        );
      }
    }
    if (!options.keepContainer) await engine.remove(run.containerId);
  }

  private finish(live: LiveRun, state: RunState, reason: string, message: string): void {
    if (isTerminal(live.record.run.state)) return;
    this.deps.ledger.release(live.record.run.id);
    this.transition(live, state, reason, message);
    live.events.close();
  }

  // ---- queries ------------------------------------------------------------

  watch(ref: string, afterSeq: number, follow: boolean, signal?: AbortSignal): AsyncGenerator<RunEvent> {
    return this.find(ref).events.read(afterSeq, follow, signal);
  }

  list(all: boolean): Run[] {
    return [...this.runs.values()]
      .filter((live) => all || !isTerminal(live.record.run.state))
      .map((live) => this.snapshot(live))
      .sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
  }

  get(ref: string): Run {
    return this.snapshot(this.find(ref));
  }

  artifactsDir(ref: string): string {
    return join(runDir(this.deps.config.dataDir, this.find(ref).record.run.id), "artifacts");
  }

  /** Finds a run by id or by name (a live run first, then the newest finished one). */
  private find(ref: string): LiveRun {
    if (ref === "") throw new ValidationError("run", "a run id or name", ref);
    const byId = this.runs.get(ref);
    if (byId) return byId;
    const named = [...this.runs.values()].filter((live) => live.record.run.name === ref);
    const pick = named.find((live) => !isTerminal(live.record.run.state)) ?? named.sort((a, b) => (b.record.run.createdAt?.getTime() ?? 0) - (a.record.run.createdAt?.getTime() ?? 0))[0];
    if (!pick) throw new NotFoundError(`no run ${JSON.stringify(ref)} on ${this.deps.config.agentName}`);
    return pick;
  }

  private snapshot(live: LiveRun): Run {
    return { ...live.record.run, lastSeq: BigInt(live.events.lastSeq) };
  }

  // ---- recovery -----------------------------------------------------------

  /**
   * Rebuilds runs after a restart: a run whose container lives keeps its
   * reservation and is followed again; one whose container is gone is failed
   * as lost and releases everything. Labelled containers no run knows are
   * removed once older than the grace period.
   */
  async recover(): Promise<void> {
    const { engine, config, ledger, log } = this.deps;
    const containers = await engine.listManaged(`${Labels.agent}=${config.agentName}`);
    const byRun = new Map(containers.map((c) => [c.labels[Labels.runId] ?? "", c]));
    for (const record of loadRecords(config.dataDir)) {
      const events = EventLog.reopen(this.eventsPath(record.run.id), record.run.id, this.now);
      const live = this.register(record, this.specOf(record), events);
      if (isTerminal(record.run.state)) {
        events.close();
        continue;
      }
      const container = byRun.get(record.run.id);
      if (!container) {
        if (record.run.containerId === "" && record.run.state === RunState.RUN_STATE_PENDING) {
          this.finish(live, RunState.RUN_STATE_FAILED, "lost", "the agent restarted before the container was created");
        } else {
          this.finish(live, RunState.RUN_STATE_FAILED, "lost", "the container is gone (found missing after an agent restart)");
        }
        log.warn({ run: record.run.id }, "run lost: its container is gone");
        continue;
      }
      const reservation = reservationFromLabels(container.labels);
      if (reservation) ledger.restore(reservation);
      live.sawReady = record.run.state === RunState.RUN_STATE_RUNNING;
      if (!container.running) {
        await this.onContainerStreamEnded(live);
        continue;
      }
      log.info({ run: record.run.id, state: stateName(record.run.state) }, "recovered a live run");
      this.followContainer(live);
    }
    for (const container of containers) {
      const runId = container.labels[Labels.runId] ?? "";
      if (this.runs.has(runId) && !isTerminal(this.runs.get(runId)!.record.run.state)) continue;
      this.scheduleOrphanRemoval(container.id, container.createdMs);
    }
  }

  private scheduleOrphanRemoval(containerId: string, createdMs: number): void {
    const wait = Math.max(0, createdMs + this.deps.config.orphanGraceMs - Date.now());
    setTimeout(() => {
      this.deps.engine.remove(containerId).then(
        () => this.deps.log.warn({ container: containerId }, "removed a berth container that no run knows"),
        (error: unknown) => this.deps.log.error({ err: error, container: containerId }, "could not remove an orphan container"),
      );
    }, wait).unref();
  }

  // ---- plumbing -----------------------------------------------------------

  private register(record: RunRecord, spec: ValidSpec | undefined, events: EventLog): LiveRun {
    const live: LiveRun = {
      record,
      events,
      spec,
      follow: new AbortController(),
      following: undefined,
      tail: [],
      readyOn: new Set(),
      sawReady: false,
      stopping: undefined,
    };
    this.runs.set(record.run.id, live);
    return live;
  }

  private transition(live: LiveRun, state: RunState, reason = "", message = ""): void {
    const { run } = live.record;
    run.state = state;
    run.reason = reason;
    run.message = message;
    run.updatedAt = this.now();
    live.events.append({ event: { $case: "state", value: { state, reason, message } } });
    this.persist(live);
  }

  private persist(live: LiveRun): void {
    live.record.run.lastSeq = BigInt(live.events.lastSeq);
    saveRecord(this.deps.config.dataDir, live.record);
  }

  private isStoppingOrDone(live: LiveRun): boolean {
    return live.stopping !== undefined || isTerminal(live.record.run.state);
  }

  private eventsPath(id: string): string {
    mkdirSync(runDir(this.deps.config.dataDir, id), { recursive: true, mode: 0o700 });
    return join(runDir(this.deps.config.dataDir, id), "events.jsonl");
  }

  private specOf(record: RunRecord): ValidSpec | undefined {
    return this.deps.validate(record.run.spec);
  }

  private generateName(): string {
    for (;;) {
      const name = `run-${randomBytes(3).toString("hex")}`;
      if (![...this.runs.values()].some((live) => live.record.run.name === name)) return name;
    }
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof BerthError ? error.message : ((error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error));
  return String(message).split("\n")[0]!.replace(/^\(HTTP code \d+\) [a-z ]+ - /, "");
}
