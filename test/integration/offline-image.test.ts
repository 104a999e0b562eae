import { describe, expect, it } from "vitest";
import { agentCommand } from "../support/processes.js";
import { RUN_IMAGE, requireRunImage } from "../support/runs.js";

describe("berth-agent image build --offline", () => {
  it("is a no-op when the image already exists (scripts/test.sh built it with this same command)", async () => {
    await requireRunImage();
    const result = await agentCommand(["image", "build", "--offline"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${RUN_IMAGE} already exists (use --force to rebuild)`);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("the image has python3, the venv module and sshd, and no conda", async () => {
    const { execa } = await import("execa");
    const probe = await execa("docker", [
      "run", "--rm", "--network", "none", RUN_IMAGE, "sh", "-c",
      "python3 --version && python3 -c 'import venv' && test -x /usr/sbin/sshd && ! command -v conda && echo ok",
    ]);
    expect(String(probe.stdout)).toMatch(/^Python 3\.\d+\.\d+\nok$/);
  });

  it("needs --offline (the only builder so far)", async () => {
    const result = await agentCommand(["image", "build"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("required option '--offline' not specified");
  });
});
