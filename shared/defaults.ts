import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The agent's default state directory: /var/lib/berth for root, the XDG data
 * dir otherwise. Shared because a client on the same machine reads the local
 * agent's certificate and local token from it when it has no fleet file.
 */
export function defaultAgentDataDir(): string {
  const override = process.env["BERTH_AGENT_DATA_DIR"];
  if (override) return override;
  if (process.getuid?.() === 0) return "/var/lib/berth";
  return join(process.env["XDG_DATA_HOME"] || join(homedir(), ".local", "share"), "berth");
}
