import { type ServiceError, Metadata, status } from "@grpc/grpc-js";
import { BerthError } from "../../shared/errors.js";

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/**
 * Turns anything a handler threw into a gRPC status. BerthErrors travel with
 * their own code and message; anything else is a bug, logged here in full and
 * sent as INTERNAL without the stack.
 */
export function toServiceError(error: unknown, log: ErrorLogger, method: string): Partial<ServiceError> {
  if (error instanceof BerthError) {
    const metadata = new Metadata();
    metadata.set("berth-error", error.name);
    return { code: error.code, details: error.message, metadata };
  }
  log.error({ err: error, method }, "unexpected error in RPC handler");
  return { code: status.INTERNAL, details: `internal error in ${method}: ${(error as Error)?.message ?? String(error)}` };
}
