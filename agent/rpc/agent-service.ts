import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import type { AgentServer, GetInventoryRequest } from "../../shared/gen/berth/v1/agent.js";
import type { Inventory } from "../../shared/gen/berth/v1/inventory.js";
import { type Authenticator, authenticate } from "./auth.js";
import { type ErrorLogger, toServiceError } from "./status.js";

export interface InventorySource {
  current(): Inventory;
  refresh(): Promise<Inventory>;
}

export interface AgentServiceDeps {
  inventory: InventorySource;
  authenticator: Authenticator;
  log: ErrorLogger;
}

/** The berth.v1.Agent handlers: authenticate, then answer. */
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

  return {
    getInventory: unary<GetInventoryRequest, Inventory>("GetInventory", (request) =>
      request.refresh ? deps.inventory.refresh() : deps.inventory.current(),
    ),
  };
}
