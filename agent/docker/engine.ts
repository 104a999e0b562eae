import type Docker from "dockerode";
import type { ContainerCreateOptions } from "dockerode";

export interface PullProgressEvent {
  layer: string;
  status: string;
  current: number;
  total: number;
}

export interface ContainerState {
  running: boolean;
  exitCode: number;
  /** Docker's own words when the container failed to start or died (OOM and such). */
  error: string;
  oomKilled: boolean;
  /** container port → host port */
  ports: Map<number, number>;
}

export interface ManagedContainer {
  id: string;
  labels: Record<string, string>;
  running: boolean;
  createdMs: number;
}

export type LogStream = "stdout" | "stderr";

/** One log line as Docker stored it: its RFC 3339 timestamp (the resume cursor) and the text without "\n". */
export interface LogLine {
  stream: LogStream;
  timestamp: string;
  text: string;
}

/** The slice of the Docker engine the run manager needs; the one implementation talks to dockerd. */
export interface ContainerEngine {
  imageExists(ref: string): Promise<boolean>;
  pullImage(ref: string, onProgress: (event: PullProgressEvent) => void): Promise<void>;
  create(options: ContainerCreateOptions): Promise<string>;
  putArchive(id: string, archive: Buffer, path: string): Promise<void>;
  start(id: string): Promise<void>;
  /** undefined when the container no longer exists. */
  inspect(id: string): Promise<ContainerState | undefined>;
  /** Follows the logs from `since` (a LogLine timestamp, exclusive of nothing: callers drop what they saw) until the container stops. */
  followLogs(id: string, since: string | undefined, onLines: (lines: LogLine[]) => void, signal: AbortSignal): Promise<void>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  kill(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  /** A tar stream of a path inside the container (works on stopped containers). */
  copyOut(id: string, path: string): Promise<NodeJS.ReadableStream>;
  listManaged(labelFilter: string): Promise<ManagedContainer[]>;
}

export function createDockerEngine(docker: Docker): ContainerEngine {
  return {
    async imageExists(ref) {
      try {
        await docker.getImage(ref).inspect();
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    },

    async pullImage(ref, onProgress) {
      const stream = await docker.pull(ref);
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number }; error?: string }) => {
            if (event.error) return;
            onProgress({
              layer: event.id ?? "",
              status: event.status ?? "",
              current: event.progressDetail?.current ?? 0,
              total: event.progressDetail?.total ?? 0,
            });
          },
        );
      });
    },

    async create(options) {
      const container = await docker.createContainer(options);
      return container.id;
    },

    async putArchive(id, archive, path) {
      await docker.getContainer(id).putArchive(archive, { path });
    },

    async start(id) {
      await docker.getContainer(id).start();
    },

    async inspect(id) {
      try {
        const info = await docker.getContainer(id).inspect();
        const ports = new Map<number, number>();
        for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
          const hostPort = (bindings as { HostPort: string }[] | null)?.[0]?.HostPort;
          if (hostPort) ports.set(Number(key.split("/")[0]), Number(hostPort));
        }
        return {
          running: info.State.Running,
          exitCode: info.State.ExitCode,
          error: info.State.Error ?? "",
          oomKilled: info.State.OOMKilled,
          ports,
        };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },

    async followLogs(id, since, onLines, signal) {
      const options = { follow: true as const, stdout: true, stderr: true, timestamps: true, abortSignal: signal, ...(since ? { since: toUnixSeconds(since) } : {}) };
      const stream = await docker.getContainer(id).logs(options);
      await new Promise<void>((resolve, reject) => {
        const demux = new LogDemuxer(onLines);
        stream.on("data", (chunk: Buffer) => demux.push(chunk));
        stream.on("end", () => {
          demux.flush();
          resolve();
        });
        stream.on("error", (error: Error) => (signal.aborted ? resolve() : reject(error)));
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },

    async stop(id, timeoutSeconds) {
      try {
        await docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (error) {
        // 304: already stopped; 404: already gone. Both mean "stopped".
        if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
      }
    },

    async kill(id) {
      try {
        await docker.getContainer(id).kill();
      } catch (error) {
        if (statusOf(error) !== 409 && statusOf(error) !== 404) throw error;
      }
    },

    async remove(id) {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    },

    async copyOut(id, path) {
      return docker.getContainer(id).getArchive({ path });
    },

    async listManaged(labelFilter) {
      const containers = await docker.listContainers({ all: true, filters: { label: [labelFilter] } });
      return containers.map((c) => ({ id: c.Id, labels: c.Labels, running: c.State === "running", createdMs: c.Created * 1000 }));
    },
  };
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Docker wants `since` as fractional Unix seconds. */
function toUnixSeconds(timestamp: string): string {
  const match = /^(.*?)(?:\.(\d+))?Z$/.exec(timestamp);
  const seconds = Math.floor(Date.parse(`${match?.[1] ?? timestamp}Z`) / 1000);
  return `${seconds}.${(match?.[2] ?? "0").padEnd(9, "0").slice(0, 9)}`;
}

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream type,
 * three zero bytes, big-endian length) into lines. With timestamps on, every
 * line starts with "<RFC 3339 nano> ".
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly partial: Record<LogStream, string> = { stdout: "", stderr: "" };
  private readonly lastTimestamp: Record<LogStream, string> = { stdout: "", stderr: "" };

  constructor(private readonly onLines: (lines: LogLine[]) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: LogLine[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 8) {
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - 8 < size) break;
      const stream: LogStream = this.pending[offset] === 2 ? "stderr" : "stdout";
      const frame = this.pending.toString("utf8", offset + 8, offset + 8 + size);
      offset += 8 + size;
      // One frame is one log entry: "<timestamp> <text>", where text lacks "\n" when Docker split a long line.
      const space = frame.indexOf(" ");
      const stamped = space > 0 && /^\d{4}-\d\d-\d\dT/.test(frame);
      const timestamp = stamped ? frame.slice(0, space) : "";
      const parts = (this.partial[stream] + (stamped ? frame.slice(space + 1) : frame)).split("\n");
      this.partial[stream] = parts.pop()!;
      for (const text of parts) lines.push({ stream, timestamp, text });
      this.lastTimestamp[stream] = timestamp;
    }
    this.pending = this.pending.subarray(offset);
    if (lines.length > 0) this.onLines(lines);
  }

  flush(): void {
    const lines: LogLine[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream] !== "") lines.push({ stream, timestamp: this.lastTimestamp[stream], text: this.partial[stream] });
      this.partial[stream] = "";
    }
    if (lines.length > 0) this.onLines(lines);
  }
}
