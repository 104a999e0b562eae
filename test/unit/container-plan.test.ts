import { describe, expect, it } from "vitest";
import { lastLines } from "../../agent/runs/output-tailer.js";
import { buildContainerSpec, reservationFromLabels } from "../../agent/runs/container-spec.js";
import { entryScript, shellQuote } from "../../agent/runs/entry-script.js";
import { RunSpec } from "../../shared/gen/berth/v1/run.js";
import { validateSpec } from "../../shared/workflow/spec.js";

const spec = validateSpec(
  RunSpec.fromPartial({
    setup: ["echo 'it''s' \"$HOME\"", "pip install x"],
    env: ["GREETING=it's $HOME"],
    ports: ["8888", "6006:16006"],
    workingDir: "src",
    cache: [{ path: "~/.cache/pip" }, { path: "data" }],
    artifacts: [{ path: "ckpt", mount: true }, { path: "out" }],
    resources: { cpu: 2, memory: "1GB", shmSize: "2GB" },
    authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"],
  }),
);
const reservation = { runId: "run-1", gpuUuids: ["GPU-a", "GPU-b"], cpu: 2, memoryBytes: 1024 ** 3 };
const plan = buildContainerSpec({
  agentName: "gpu-1",
  runId: "run-1",
  runName: "demo",
  owner: "alice",
  spec,
  reservation,
  image: "berth/ssh:py3.11-cuda",
  publishAddress: "127.0.0.1",
  cacheRoot: "/var/lib/berth/cache/alice/default",
  artifactsRoot: "/var/lib/berth/runs/run-1/artifacts",
  outputDir: "/var/lib/berth/runs/run-1/output",
});

describe("container plan", () => {
  it("limits, shm, GPUs, no privileges", () => {
    expect(plan.HostConfig).toMatchObject({
      NanoCpus: 2e9,
      Memory: 1024 ** 3,
      Tmpfs: { "/dev/shm": `rw,exec,nosuid,nodev,size=${2 * 1024 ** 3}` },
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: false,
      DeviceRequests: [{ Driver: "nvidia", DeviceIDs: ["GPU-a", "GPU-b"], Capabilities: [["gpu", "utility", "compute"]] }],
    });
  });

  it("publishes sshd and the workflow's container ports on the publish address, ephemeral host ports", () => {
    expect(Object.keys(plan.ExposedPorts!)).toEqual(["10022/tcp", "8888/tcp", "16006/tcp"]);
    expect(plan.HostConfig!.PortBindings["16006/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "" }]);
  });

  it("binds the cache and mounted artifacts, nothing else", () => {
    expect(plan.HostConfig!.Binds).toEqual([
      "/var/lib/berth/runs/run-1/output:/run/berth/output:rw",
      "/var/lib/berth/cache/alice/default/home/.cache/pip:/root/.cache/pip:rw",
      "/var/lib/berth/cache/alice/default/workflow/data:/workflow/data:rw",
      "/var/lib/berth/runs/run-1/artifacts/ckpt:/workflow/ckpt:rw",
    ]);
  });

  it("labels carry the reservation back after a restart", () => {
    expect(reservationFromLabels(plan.Labels!)).toEqual(reservation);
    expect(plan.Labels).toMatchObject({ "berth.run-id": "run-1", "berth.owner": "alice", "berth.agent": "gpu-1" });
  });
});

describe("entry script", () => {
  const script = entryScript({ outputDir: "/run/berth/output", runId: "run-1", authorizedKeys: spec.authorizedKeys, env: spec.env, workingDir: "/workflow/src", setup: spec.setup, sshPort: 10022 });

  it("runs key → host key → sshd → env → cd → setup (set -e) → ready → wait, in that order", () => {
    const order = [
      "exec >>/run/berth/output/stdout 2>>/run/berth/output/stderr",
      "> /run/berth/ssh/authorized_keys",
      "ssh-keygen -q -t ed25519",
      "/usr/sbin/sshd -f /run/berth/sshd_config",
      "export GREETING=",
      '\ncd "$BERTH_WORKING_DIR"\n',
      "printf '%s\\n' 'set -e'",
      '"$setup_shell" -e /run/berth/setup.sh &',
      "berth:%s\\n' 'ready'",
      "sleep 2147483647 &",
    ].map((needle) => {
      const at = script.indexOf(needle);
      expect(at, needle).toBeGreaterThan(-1);
      return at;
    });
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("quotes env and setup so the shell sees them verbatim", () => {
    expect(script).toContain(`export GREETING=${shellQuote("it's $HOME")}`);
    expect(script).toContain(shellQuote(`echo 'it''s' "$HOME"`));
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it("our own sshd: key auth only, our port, per-run host key, keepalives", () => {
    for (const line of ["Port 10022", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "ClientAliveInterval 30", "HostKey /run/berth/ssh/host_ed25519_key"]) {
      expect(script).toContain(`\n${line}\n`);
    }
  });

  it("installs sshd when the image lacks it, with apt, apk or dnf", () => {
    expect(script).toMatch(/apt-get install -y -qq --no-install-recommends openssh-server/);
    expect(script).toMatch(/apk add --no-cache openssh-server/);
    expect(script).toMatch(/dnf install -y -q openssh-server/);
  });

  it("handles SIGTERM", () => {
    expect(script).toContain("trap stop TERM INT");
  });
});

describe("output tail lines", () => {
  it("takes the last lines of a block without splitting it all", () => {
    expect(lastLines("a\nb\nc\n", 2)).toEqual(["b", "c"]);
    expect(lastLines("only\n", 5)).toEqual(["only"]);
    expect(lastLines("x\n\ny\n", 3)).toEqual(["x", "", "y"]);
  });
});

describe("image catalogue", () => {
  it("picks the run's image, else the CPU or GPU template with the python filled in, and says how to build missing ones", async () => {
    const { DEFAULT_CATALOGUE, buildHint, resolveImage } = await import("../../agent/images/catalogue.js");
    expect(resolveImage(DEFAULT_CATALOGUE, { gpus: 0 })).toBe("berth/ssh:py3.11");
    expect(resolveImage(DEFAULT_CATALOGUE, { gpus: 2, python: "3.10" })).toBe("berth/ssh:py3.10-cuda");
    expect(resolveImage(DEFAULT_CATALOGUE, { gpus: 2, image: "my/own:tag" })).toBe("my/own:tag");
    expect(buildHint("berth/ssh:py3.10-cuda")).toBe("docker build -t berth/ssh:py3.10-cuda --build-arg PYTHON=3.10 --build-arg BASE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 images/ssh");
    expect(buildHint("berth/offline:bookworm")).toBe("berth-agent image build --offline --tag berth/offline:bookworm");
  });
});
