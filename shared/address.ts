import { isIP } from "node:net";
import { ValidationError } from "./errors.js";

/** Where a gRPC endpoint lives: a TCP host and port, or a Unix socket path. */
export type Endpoint = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export const ENDPOINT_EXPECTED = "HOST:PORT or unix:/path/to/socket";

/** Parses `HOST:PORT`, `[v6]:PORT` or `unix:/path`. Port 0 (any free port) only where `listening`. */
export function parseEndpoint(value: unknown, field: string, opts: { listening?: boolean } = {}): Endpoint {
  if (typeof value !== "string") throw new ValidationError(field, ENDPOINT_EXPECTED, value);
  if (value.startsWith("unix:")) {
    const path = value.slice("unix:".length).replace(/^\/\/(?=\/)/, "");
    if (!path.startsWith("/")) throw new ValidationError(field, "unix:/ABSOLUTE/PATH", value);
    return { kind: "unix", path };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = match ? Number(match[3]) : NaN;
  if (!match || !host || !Number.isInteger(port) || port < (opts.listening ? 0 : 1) || port > 65535) {
    throw new ValidationError(field, "HOST:PORT", value);
  }
  return { kind: "tcp", host, port };
}

/** The gRPC target string for an endpoint. */
export function endpointTarget(endpoint: Endpoint): string {
  if (endpoint.kind === "unix") return `unix:${endpoint.path}`;
  return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** True for endpoints that only this machine can reach, where plaintext is acceptable. */
export function isLocalOnly(endpoint: Endpoint): boolean {
  if (endpoint.kind === "unix") return true;
  const host = endpoint.host.toLowerCase();
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}
