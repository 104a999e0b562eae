import { X509Certificate, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { type ChannelCredentials, type ChannelOptions, Metadata, credentials } from "@grpc/grpc-js";
import { endpointTarget, parseEndpoint } from "../../shared/address.js";
import { defaultAgentDataDir } from "../../shared/defaults.js";
import { BerthError, StatusCode, UnavailableError } from "../../shared/errors.js";
import { AgentClient } from "../../shared/gen/berth/v1/agent.js";
import type { FleetAgent } from "./store.js";

/** The certificate the agent presented is not the one the fleet entry pins. */
export class FingerprintMismatchError extends BerthError {
  constructor(
    readonly agent: string,
    readonly expected: string,
    readonly presented: string,
  ) {
    super(
      StatusCode.FailedPrecondition,
      `TLS fingerprint mismatch for ${agent}: expected ${expected}, the agent presented ${presented}` +
        " (if the agent's certificate was regenerated on purpose, run `berth fleet add` again with the new fingerprint)",
    );
  }
}

export interface AgentConnection {
  client: AgentClient;
  /** False when no token was found; the agent will answer UNAUTHENTICATED. */
  hasToken: boolean;
  /** Carries the bearer token; pass it to every call. */
  metadata: Metadata;
  close(): void;
}

interface Trust {
  token: string | undefined;
  fingerprint: string | undefined;
  plaintext: boolean;
  /** A certificate already known to match the fingerprint, when there is one. */
  certPem: string | undefined;
}

const CHANNEL_OPTIONS: ChannelOptions = {
  // One CLI invocation makes one call per agent: no retries behind the user's back, no reconnect backoff.
  "grpc.enable_retries": 0,
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
};

/**
 * Opens a channel to an agent: TLS pinned to the fleet entry's fingerprint, or
 * plaintext where the entry says so. The agent's certificate is self-signed,
 * so the client fetches it once, checks its SHA-256 against the pin, caches it
 * under $BERTH_HOME/certs and then trusts exactly that certificate.
 */
export async function connectAgent(agent: FleetAgent, home: string, deadline: Date): Promise<AgentConnection> {
  const endpoint = parseEndpoint(agent.address, `${agent.name}.address`);
  const target = endpointTarget(endpoint);
  const trust = agent.token === undefined && agent.fingerprint === undefined && !agent.plaintext ? await localTrust() : fleetTrust(agent);
  const metadata = new Metadata();
  if (trust.token !== undefined) metadata.set("authorization", `Bearer ${trust.token}`);

  let channelCredentials: ChannelCredentials;
  if (trust.plaintext) {
    channelCredentials = credentials.createInsecure();
  } else {
    if (endpoint.kind !== "tcp") throw new UnavailableError(`${agent.name}: TLS needs a HOST:PORT address`);
    const pinned = trust.fingerprint!;
    const certPem = trust.certPem ?? (await pinnedCertificate(agent.name, endpoint.host, endpoint.port, pinned, home, deadline));
    channelCredentials = credentials.createSsl(Buffer.from(certPem), null, null, {
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === pinned ? undefined : new FingerprintMismatchError(agent.name, pinned, cert.fingerprint256),
    });
  }
  // The certificate is pinned by fingerprint, not by name; a fixed SNI keeps IP addresses out of ServerName.
  const options = trust.plaintext ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, "grpc.ssl_target_name_override": "berth-agent" };
  const client = new AgentClient(target, channelCredentials, options);
  return { client, hasToken: trust.token !== undefined, metadata, close: () => client.close() };
}

function fleetTrust(agent: FleetAgent): Trust {
  return { token: agent.token, fingerprint: agent.fingerprint, plaintext: agent.plaintext ?? false, certPem: undefined };
}

/** The embedded default: the agent on this machine, trusted through the files in its data dir. */
async function localTrust(): Promise<Trust> {
  const dataDir = defaultAgentDataDir();
  const token = await readFile(join(dataDir, "local.token"), "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
  const certPem = await readFile(join(dataDir, "tls", "agent.crt"), "utf8").catch(() => undefined);
  return {
    token,
    fingerprint: certPem ? new X509Certificate(certPem).fingerprint256 : undefined,
    plaintext: certPem === undefined,
    certPem,
  };
}

async function pinnedCertificate(name: string, host: string, port: number, pinned: string, home: string, deadline: Date): Promise<string> {
  // Named by fingerprint and written only after the check, so a cache hit needs no certificate parsing.
  const cachePath = join(home, "certs", `${pinned.replace(/:/g, "")}.pem`);
  const cached = await readFile(cachePath, "utf8").catch(() => undefined);
  if (cached !== undefined) return cached;
  const presented = await fetchPeerCertificate(host, port, deadline);
  if (presented.fingerprint256 !== pinned) throw new FingerprintMismatchError(name, pinned, presented.fingerprint256);
  await mkdir(join(home, "certs"), { recursive: true, mode: 0o700 });
  // Aside, then renamed: a concurrent berth never reads half a certificate.
  const aside = `${cachePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, presented.toString(), { mode: 0o600 });
  await rename(aside, cachePath);
  return presented.toString();
}

/** A bare TLS handshake that only reads the peer certificate; nothing is sent. */
function fetchPeerCertificate(host: string, port: number, deadline: Date): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ["h2"], servername: "berth-agent" });
    const timer = setTimeout(
      () => {
        socket.destroy();
        reject(new UnavailableError(`no answer from ${host}:${port} before the deadline`));
      },
      Math.max(0, deadline.getTime() - Date.now()),
    );
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new UnavailableError(`${host}:${port} presented no certificate`));
    });
    socket.once("error", (error: Error) => {
      clearTimeout(timer);
      reject(new UnavailableError(`cannot connect to ${host}:${port}: ${error.message}`));
    });
  });
}
