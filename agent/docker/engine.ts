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

/** The slice of the Docker engine the run manager needs; the one implementation talks to dockerd. */
export interface ContainerEngine {
  imageExists(ref: string): Promise<boolean>;
  pullImage(ref: string, onProgress: (event: PullProgressEvent) => void): Promise<void>;
  create(options: ContainerCreateOptions): Promise<string>;
  putArchive(id: string, archive: Buffer, path: string): Promise<void>;
  start(id: string): Promise<void>;
  /** undefined when the container no longer exists. */
  inspect(id: string): Promise<ContainerState | undefined>;
  /** Resolves with the exit code once the container stops (at once if it already has). */
  wait(id: string): Promise<number>;
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

    async wait(id) {
      const result = (await docker.getContainer(id).wait()) as { StatusCode: number };
      return result.StatusCode;
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

