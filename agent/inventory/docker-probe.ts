import type Docker from "dockerode";

export interface DockerFacts {
  version: string;
  healthy: boolean;
  error: string;
}

export interface DockerProbe {
  probe(): Promise<DockerFacts>;
}

export function createDockerProbe(docker: Docker, socketPath: string): DockerProbe {
  return {
    async probe() {
      try {
        const version = await docker.version();
        return { version: version.Version, healthy: true, error: "" };
      } catch (error) {
        return { version: "", healthy: false, error: `docker (${socketPath}): ${(error as Error).message}` };
      }
    },
  };
}
