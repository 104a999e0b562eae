import { networkInterfaces, hostname } from "node:os";
import { type Endpoint, endpointTarget } from "../shared/address.js";

/**
 * The address a client on another machine should dial. A wildcard listen
 * address says nothing useful, so it is replaced by the first external IPv4
 * address (or the hostname when there is none).
 */
export function advertisedAddress(listen: Endpoint, port: number): string {
  if (listen.kind === "unix") return endpointTarget(listen);
  if (listen.host !== "0.0.0.0" && listen.host !== "::") return endpointTarget({ ...listen, port });
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return `${address.address}:${port}`;
    }
  }
  return `${hostname()}:${port}`;
}
