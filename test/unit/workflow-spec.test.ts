import { describe, expect, it } from "vitest";
import { RunSpec } from "../../shared/gen/berth/v1/run.js";
import { gpuNameMatches } from "../../shared/resources/gpu-match.js";
import { parseSizeRange } from "../../shared/ranges.js";
import { validateSpec, workflowPath } from "../../shared/workflow/spec.js";

const GB = 1024 ** 3;

describe("validateSpec", () => {
  it("accepts every property of the ssh provider", () => {
    const valid = validateSpec(
      RunSpec.fromPartial({
        name: "train-1",
        setup: ["pip install -r requirements.txt"],
        python: "3.10",
        env: ["A=1", "B=x=y", "C="],
        artifacts: [{ path: "checkpoints", mount: true }, { path: "./out/" }],
        resources: { cpu: 4, memory: "16GB", gpu: { count: 2, name: "A100", memory: "40GB.." }, shmSize: "8GB", interruptible: true },
        ports: ["8888", "6006:16006"],
        workingDir: "/workflow/src",
        cache: [{ path: "~/.cache/pip" }, { path: "data/cache" }],
        owner: "alice",
        repo: "llm",
      }),
    );
    expect(valid).toMatchObject({
      name: "train-1",
      python: "3.10",
      env: [
        { key: "A", value: "1" },
        { key: "B", value: "x=y" },
        { key: "C", value: "" },
      ],
      artifacts: [
        { path: "checkpoints", mount: true },
        { path: "out", mount: false },
      ],
      ports: [
        { local: 8888, container: 8888 },
        { local: 6006, container: 16006 },
      ],
      workingDir: "src",
      cache: [
        { path: ".cache/pip", home: true },
        { path: "data/cache", home: false },
      ],
      resources: { cpu: 4, memoryBytes: 16 * GB, gpu: { count: 2, name: "A100", memory: { min: 40 * GB } }, shmBytes: 8 * GB, interruptible: true },
      owner: "alice",
      repo: "llm",
    });
  });

  it("a GPU name or memory without a count means one GPU", () => {
    expect(validateSpec(RunSpec.fromPartial({ resources: { gpu: { name: "T4" } } })).resources.gpu.count).toBe(1);
    expect(validateSpec(RunSpec.fromPartial({})).resources.gpu.count).toBe(0);
  });

  it.each([
    ["..", 'working_dir: expected a relative path inside /workflow, got ".."'],
    ["a/../../b", 'working_dir: expected a relative path inside /workflow, got "a/../../b"'],
    ["/etc", 'working_dir: expected a relative path inside /workflow, got "/etc"'],
    ["/workflowx", 'working_dir: expected a relative path inside /workflow, got "/workflowx"'],
  ])("working_dir %j is refused", (path, message) => {
    expect(() => validateSpec(RunSpec.fromPartial({ workingDir: path }))).toThrow(message);
  });

  it("path normalization keeps paths inside", () => {
    expect(workflowPath("a/./b/../c", "f", false)).toBe("a/c");
    expect(workflowPath("/workflow", "f", true)).toBe("");
    expect(() => workflowPath(".", "artifacts[0].path", false)).toThrow("artifacts[0].path: expected a folder inside /workflow");
  });

  it.each([
    [{ name: "Has_Caps" }, "name: expected lower-case letters"],
    [{ python: "three" }, 'python: expected a version such as "3.11", got "three"'],
    [{ ports: ["0"] }, "ports[0]: expected PORT or LOCAL:CONTAINER"],
    [{ ports: ["80:80:80"] }, "ports[0]: expected PORT or LOCAL:CONTAINER"],
    [{ ports: ["1:8080", "8080"] }, "ports[1]: expected a port not already listed"],
    [{ resources: { cpu: -1 } }, "resources.cpu: expected a number of cores ≥ 0, got -1"],
    [{ resources: { gpu: { count: 100 } } }, "resources.gpu.count: expected an integer from 0 to 64, got 100"],
    [{ resources: { gpu: { memory: "80GB..40GB" } } }, "resources.gpu.memory: expected a range whose lower bound is not above its upper bound"],
    [{ owner: "../x" }, "owner: expected letters, digits"],
    [{ image: "bad image" }, "image: expected an image reference"],
  ])("%j", (partial, message) => {
    expect(() => validateSpec(RunSpec.fromPartial(partial))).toThrow(message);
  });
});

describe("GPU names and memory ranges", () => {
  it.each([
    ["a100", "NVIDIA A100-SXM4-80GB", true],
    ["A100", "NVIDIA A100 80GB PCIe", true],
    ["a10", "NVIDIA A100-SXM4-80GB", false],
    ["rtx a5000", "NVIDIA RTX A5000", true],
    ["a5000", "NVIDIA RTX A5000", true],
    ["nvidia h100", "NVIDIA H100 80GB HBM3", true],
    ["V100", "Tesla V100-SXM2-16GB", true],
    ["t4", "Tesla T4", true],
    ["l40s", "NVIDIA L40S", true],
    ["l40", "NVIDIA L40S", false],
    ["4090", "NVIDIA GeForce RTX 4090", true],
  ] as const)("%s vs %s → %s", (asked, actual, expected) => {
    expect(gpuNameMatches(asked, actual)).toBe(expected);
  });

  it("ranges", () => {
    expect(parseSizeRange("24GB", "m")).toEqual({ min: 24 * GB });
    expect(parseSizeRange("24GB..", "m")).toEqual({ min: 24 * GB });
    expect(parseSizeRange("..80GB", "m")).toEqual({ max: 80 * GB });
    expect(parseSizeRange("24GB..80GB", "m")).toEqual({ min: 24 * GB, max: 80 * GB });
    expect(() => parseSizeRange("..", "m")).toThrow("m: expected a size range");
  });
});
