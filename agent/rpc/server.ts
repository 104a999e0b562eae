import { Server, ServerCredentials } from "@grpc/grpc-js";
import { type Endpoint, endpointTarget } from "../../shared/address.js";
import { UnavailableError } from "../../shared/errors.js";
import { type AgentServer, AgentService } from "../../shared/gen/berth/v1/agent.js";
import { type HealthServer, HealthService } from "../../shared/gen/grpc/health/v1/health.js";

export type Transport = { plaintext: true } | { plaintext: false; certPem: string; keyPem: string };

export interface BoundServer {
  server: Server;
  /** The port actually bound (differs from the requested one when it was 0); 0 for Unix sockets. */
  port: number;
  target: string;
  shutdown(graceMs: number): Promise<void>;
}

export async function startRpcServer(
  endpoint: Endpoint,
  transport: Transport,
  services: { agent: AgentServer; health: HealthServer },
): Promise<BoundServer> {
  const server = new Server({
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_concurrent_streams": 1000,
    // StartRun carries the code archive (the client caps it at 256 MB).
    "grpc.max_receive_message_length": 272 * 1024 * 1024,
  });
  server.addService(AgentService, services.agent);
  server.addService(HealthService, services.health);
  const credentials = transport.plaintext
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(null, [{ private_key: Buffer.from(transport.keyPem), cert_chain: Buffer.from(transport.certPem) }], false);
  const target = endpointTarget(endpoint);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, credentials, (error, bound) => {
      if (error) reject(new UnavailableError(`cannot listen on ${target}: ${bindReason(error.message)}`));
      else resolve(bound);
    });
  });
  return {
    server,
    port,
    target: endpoint.kind === "tcp" ? endpointTarget({ ...endpoint, port }) : target,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

// grpc-js reports "No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use ...]".
function bindReason(message: string): string {
  const inner = /\[(?:listen )?(E[A-Z]+): ([^\]]+?)(?: \S+:\d+)?\]/.exec(message);
  return inner ? `${inner[2]} (${inner[1]})` : message;
}
