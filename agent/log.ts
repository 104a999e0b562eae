import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/** JSON lines for journald and log shippers; readable colour when a person is watching a terminal. */
export function createLogger(level = process.env["BERTH_LOG_LEVEL"] ?? "info"): Logger {
  if (process.stdout.isTTY) {
    return pino({ level }, pretty({ colorize: !process.env["NO_COLOR"], translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }));
  }
  return pino({ level, base: { name: "berth-agent" } }, pino.destination({ dest: 1, sync: false }));
}
