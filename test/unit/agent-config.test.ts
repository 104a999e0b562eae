import { describe, expect, it } from "vitest";
import { parseConfigFile, parseFlags, resolveConfig } from "../../agent/config/schema.js";

const defaults = { name: "host-a", dataDir: "/var/lib/berth" };

describe("agent config", () => {
  it("defaults every key", () => {
    const config = resolveConfig({}, {}, defaults, "agent.yaml");
    expect(config).toMatchObject({
      name: "host-a",
      listen: { kind: "tcp", host: "0.0.0.0", port: 7433 },
      plaintext: false,
      dataDir: "/var/lib/berth",
      samplePeriodMs: 10_000,
      reserved: { cpu: 0, memoryBytes: 0 },
      nvidiaSmi: { command: "nvidia-smi", timeoutMs: 10_000 },
      dockerSocket: "/var/run/docker.sock",
    });
  });

  it("reads every key of the file", () => {
    const file = parseConfigFile({
      name: "gpu-1",
      labels: { zone: "a", rack: 3 },
      interruptible: true,
      listen: "127.0.0.1:9000",
      plaintext: true,
      data_dir: "/srv/berth",
      sample_period: "30s",
      reserved: { cpu: 2, memory: "4GB" },
      tokens: [{ user: "alice", sha256: "A".repeat(64) }],
      nvidia_smi: { command: "/opt/nvidia-smi", timeout: "3s" },
      docker_socket: "/run/docker.sock",
      publish_address: "127.0.0.1",
      advertise_host: "gpu-1.lab",
      images: { cpu: "my/cpu:{python}", gpu: "my/gpu:{python}", default_python: 3.12 },
      stop_timeout: "30s",
      orphan_grace: "1m",
    });
    const config = resolveConfig(file, {}, defaults, "agent.yaml");
    expect(config).toEqual({
      name: "gpu-1",
      labels: { zone: "a", rack: "3" },
      interruptible: true,
      listen: { kind: "tcp", host: "127.0.0.1", port: 9000 },
      plaintext: true,
      dataDir: "/srv/berth",
      samplePeriodMs: 30_000,
      reserved: { cpu: 2, memoryBytes: 4 * 1024 ** 3 },
      allocatable: { cpu: undefined, memoryBytes: undefined },
      tokens: [{ user: "alice", sha256: "a".repeat(64) }],
      nvidiaSmi: { command: "/opt/nvidia-smi", timeoutMs: 3000 },
      dockerSocket: "/run/docker.sock",
      publishAddress: "127.0.0.1",
      advertiseHost: "gpu-1.lab",
      images: { cpu: "my/cpu:{python}", gpu: "my/gpu:{python}", defaultPython: "3.12" },
      stopTimeoutSeconds: 30,
      orphanGraceMs: 60_000,
    });
  });

  it("flags override the file", () => {
    const config = resolveConfig(
      parseConfigFile({ listen: "127.0.0.1:1", name: "file" }),
      parseFlags({ listen: "127.0.0.1:2", name: "flag", dataDir: "/d" }),
      defaults,
      "agent.yaml",
    );
    expect(config).toMatchObject({ name: "flag", dataDir: "/d", listen: { port: 2 } });
  });

  it("plaintext is refused off loopback, and allowed on a unix socket", () => {
    expect(() => resolveConfig(parseConfigFile({ plaintext: true }), {}, defaults, "agent.yaml")).toThrow(
      'agent.yaml: plaintext: expected listen on loopback (127.0.0.1) or a unix: socket when plaintext is true, got "0.0.0.0:7433"',
    );
    expect(resolveConfig(parseConfigFile({ plaintext: true, listen: "unix:/run/b.sock" }), {}, defaults, "x").plaintext).toBe(true);
  });

  it("an empty file is all defaults", () => {
    expect(parseConfigFile(null)).toEqual({});
  });

  it.each([
    [{ name: "has space" }, "name: expected a name of letters"],
    [{ labels: ["a"] }, "labels: expected a mapping, got a list"],
    [{ labels: { a: { b: 1 } } }, "labels.a: expected a string, got a mapping"],
    [{ tokens: "x" }, 'tokens: expected a list, got "x"'],
    [{ tokens: [{ user: "a" }] }, "tokens[0].sha256: expected a string, got nothing"],
    [{ reserved: { gpu: 1 } }, 'reserved.gpu: expected one of cpu, memory, got "gpu"'],
    [{ data_dir: "rel" }, 'data_dir: expected an absolute path, got "rel"'],
    [{ nvidia_smi: { timeout: "x" } }, "nvidia_smi.timeout: expected a duration"],
    [[1, 2], "expected a mapping, got a list"],
    [{ publish_address: "localhost" }, 'publish_address: expected an IP address such as 127.0.0.1 or 0.0.0.0, got "localhost"'],
    [{ images: { tpu: "x" } }, 'images.tpu: expected one of cpu, gpu, default_python, got "tpu"'],
  ])("%j", (raw, message) => {
    expect(() => parseConfigFile(raw)).toThrow(message);
  });
});
