import { execa } from "execa";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/fixtures.js";
import { AGENT_BIN, tempDir } from "../support/processes.js";

describe("systemd/berth-agent.service", () => {
  it("passes `systemd-analyze verify` and keeps the agent running next to docker", async () => {
    const unit = await readFile(join(REPO_ROOT, "systemd", "berth-agent.service"), "utf8");
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^After=.*\bdocker\.service\b/m);
    expect(unit).toMatch(/^Wants=.*\bdocker\.service\b/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^RestrictAddressFamilies=.*\bAF_UNIX\b/m);
    // docker.sock lives under /run; the hardening must leave it reachable.
    expect(unit).not.toMatch(/^InaccessiblePaths=.*\/run/m);
    expect(unit).not.toMatch(/^PrivateNetwork=yes/m);

    // verify checks that ExecStart exists, so point it at the built binary; nothing else changes.
    const dir = await tempDir("unit");
    const path = join(dir, "berth-agent.service");
    await writeFile(path, unit.replace("/usr/local/bin/berth-agent", AGENT_BIN));
    const result = await execa("systemd-analyze", ["verify", path], { reject: false });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });

  it("verify does catch a broken unit (the check is not vacuous)", async () => {
    const dir = await tempDir("unit");
    const path = join(dir, "broken.service");
    await writeFile(path, "[Service]\nExecStart=relative/path\n");
    const result = await execa("systemd-analyze", ["verify", path], { reject: false });
    expect(result.exitCode).not.toBe(0);
  });
});
