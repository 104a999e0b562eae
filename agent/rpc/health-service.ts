import { status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from "@grpc/grpc-js";
import {
  type HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthServer,
} from "../../shared/gen/grpc/health/v1/health.js";

/**
 * The standard grpc.health.v1 service, so ordinary probes (grpc_health_probe,
 * load balancers) work. It needs no token: it tells nothing but "serving".
 */
export function createHealthService(services: string[]): HealthServer {
  const known = new Set(["", ...services]);
  const answer = (service: string): HealthCheckResponse =>
    HealthCheckResponse.create({ status: known.has(service) ? ServingStatus.SERVING : ServingStatus.SERVICE_UNKNOWN });
  return {
    check(call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) {
      if (!known.has(call.request.service)) {
        callback({ code: status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
        return;
      }
      callback(null, answer(call.request.service));
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      // Serving status never changes while the process is up; the stream stays open until the client leaves.
      call.write(answer(call.request.service));
    },
  };
}
