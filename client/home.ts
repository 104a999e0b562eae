import { homedir } from "node:os";
import { join } from "node:path";

/** Everything the client keeps lives under $BERTH_HOME (default ~/.berth). */
export function berthHome(): string {
  return process.env["BERTH_HOME"] || join(homedir(), ".berth");
}
