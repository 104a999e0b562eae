import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import type { AgentServer, GetInventoryRequest, ListRunsRequest, ListRunsResponse, GetRunRequest, StopRunRequest, ListArtifactsRequest, ListArtifactsResponse, DownloadArtifactsRequest, StartRunRequest, WatchRunRequest } from "../../shared/gen/berth/v1/agent.js";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import type { ArtifactChunk } from "../../shared/gen/berth/v1/agent.js";
import { type Run, type RunEvent, RunSpec } from "../../shared/gen/berth/v1/run.js";
import { validateSpec } from "../../shared/workflow/spec.js";
import { downloadArtifacts, listArtifacts } from "../runs/artifacts.js";
import type { RunManager } from "../runs/run-manager.js";
import { type Authenticator, authenticate } from "./auth.js";
import { type ErrorLogger, toServiceError } from "./status.js";

export interface InventorySource {
  current(): Inventory;
  refresh(): Promise<Inventory>;
}

export interface AgentServiceDeps {
  inventory: InventorySource;
  runs: RunManager;
  authenticator: Authenticator;
  log: ErrorLogger;
}

/** The berth.v1.Agent handlers: authenticate, validate at the boundary, then hand over to the run manager. */
export function createAgentService(deps: AgentServiceDeps): AgentServer {
  const unary =
    <Req, Res>(method: string, handle: (request: Req, user: string) => Promise<Res> | Res) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      authenticate(call.metadata, deps.authenticator)
        .then((user) => handle(call.request, user))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(toServiceError(error, deps.log, method)),
        );
    };

  const streaming =
    <Req, Res>(method: string, open: (request: Req, user: string, signal: AbortSignal) => Promise<AsyncGenerator<Res>> | AsyncGenerator<Res>) =>
    (call: ServerWritableStream<Req, Res>): void => {
      const abort = new AbortController();
      call.on("cancelled", () => abort.abort());
      authenticate(call.metadata, deps.authenticator)
        .then((user) => open(call.request, user, abort.signal))
        .then((source) => pipe(call, source, abort.signal))
        .then(
          () => call.end(),
          (error: unknown) => {
            if (!abort.signal.aborted) call.emit("error", toServiceError(error, deps.log, method));
          },
        );
    };

  return {
    getInventory: unary<GetInventoryRequest, Inventory>("GetInventory", (request) =>
      request.refresh ? deps.inventory.refresh() : deps.inventory.current(),
    ),

    startRun: streaming<StartRunRequest, RunEvent>("StartRun", (request, user, signal) => {
      const raw = request.spec ?? RunSpec.create();
      const id = deps.runs.start(validateSpec(raw), raw, user);
      return deps.runs.watch(id, 0, true, signal);
    }),

    watchRun: streaming<WatchRunRequest, RunEvent>("WatchRun", (request, _user, signal) =>
      deps.runs.watch(request.run, Number(request.afterSeq), request.follow, signal),
    ),

    listRuns: unary<ListRunsRequest, ListRunsResponse>("ListRuns", (request) => ({ runs: deps.runs.list(request.all) })),

    getRun: unary<GetRunRequest, Run>("GetRun", (request) => deps.runs.get(request.run)),

    stopRun: unary<StopRunRequest, Run>("StopRun", (request) =>
      deps.runs.stop(request.run, { timeoutSeconds: request.timeoutSeconds, abort: request.abort }),
    ),

    listArtifacts: unary<ListArtifactsRequest, ListArtifactsResponse>("ListArtifacts", async (request) => ({
      files: await listArtifacts(deps.runs.artifactsDir(request.run)),
    })),

    downloadArtifacts: streaming<DownloadArtifactsRequest, ArtifactChunk>("DownloadArtifacts", (request) =>
      downloadArtifacts(deps.runs.artifactsDir(request.run), request.path),
    ),
  };
}

/** Writes every item, waiting for the client to drain when it is slow; nothing piles up in memory. */
async function pipe<Res>(call: ServerWritableStream<unknown, Res>, source: AsyncGenerator<Res>, signal: AbortSignal): Promise<void> {
  try {
    for await (const item of source) {
      if (signal.aborted) return;
      if (!call.write(item)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off("drain", done);
            signal.removeEventListener("abort", done);
            resolve();
          };
          call.on("drain", done);
          signal.addEventListener("abort", done, { once: true });
        });
      }
    }
  } finally {
    await source.return(undefined);
  }
}
