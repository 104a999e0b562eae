import { OutputStream, type PullProgress, type Ready, RunState, type RunEvent } from "../../shared/gen/berth/v1/run.js";
import { runStateName as stateName } from "../../shared/run-state.js";

export interface ReadyInfo {
  run: string;
  agent: string;
  host: string;
  ready: Ready;
  vscodeUri: string;
}

/** How `berth run` shows a run: colour and bars on a terminal, plain lines elsewhere, or JSON lines. */
export interface RunView {
  chosen(agent: string, reason: string): void;
  event(event: RunEvent): void;
  ready(info: ReadyInfo, showCode: boolean): void;
  note(text: string): void;
  failed(message: string): void;
}

export function vscodeUri(run: string, workingDir: string): string {
  return `vscode://vscode-remote/ssh-remote+${run}${workingDir || "/workflow"}`;
}


interface Streams {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createRunView(mode: "json" | "text", streams: Streams = { out: process.stdout, err: process.stderr }): RunView {
  if (mode === "json") return new JsonView(streams);
  const tty = Boolean(streams.out.isTTY);
  const color = tty && !process.env["NO_COLOR"];
  return new TextView(streams, tty, color);
}

class TextView implements RunView {
  private pulls = new Map<string, { current: number; total: number }>();
  private barShown = false;

  constructor(
    private readonly streams: Streams,
    private readonly tty: boolean,
    private readonly color: boolean,
  ) {}

  private paint(code: string, text: string): string {
    return this.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  private clearBar(): void {
    if (this.barShown) this.streams.out.write("\r\u001b[2K");
    this.barShown = false;
  }

  chosen(agent: string, reason: string): void {
    this.streams.out.write(`${this.paint("1", "→")} ${agent}: ${reason}\n`);
  }

  event(event: RunEvent): void {
    const body = event.event;
    if (!body) return;
    if (body.$case === "output") {
      this.clearBar();
      if (body.value.stream === OutputStream.OUTPUT_STREAM_STDERR) {
        this.streams.err.write(this.color ? this.paint("31", body.value.text.replace(/\n$/, "")) + "\n" : body.value.text);
      } else {
        this.streams.out.write(body.value.text);
      }
    } else if (body.$case === "state") {
      this.clearBar();
      const { state, reason, message } = body.value;
      if (state === RunState.RUN_STATE_FAILED) return; // failed() says it
      const suffix = reason && state !== RunState.RUN_STATE_STOPPED ? ` (${reason})` : "";
      this.streams.out.write(this.paint("2", `· ${stateName(state)}${suffix}${message && state !== RunState.RUN_STATE_STOPPED ? `: ${message}` : ""}`) + "\n");
    } else if (body.$case === "pull") {
      this.pull(body.value);
    }
  }

  private pull(progress: PullProgress): void {
    if (!this.tty) return;
    if (progress.layer && progress.total > 0n) this.pulls.set(progress.layer, { current: Number(progress.current), total: Number(progress.total) });
    let current = 0;
    let total = 0;
    for (const layer of this.pulls.values()) {
      current += layer.current;
      total += layer.total;
    }
    if (total === 0) return;
    const width = 30;
    const filled = Math.round((current / total) * width);
    const bar = `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${((current / total) * 100).toFixed(0)}% of ${(total / 1024 / 1024).toFixed(0)} MB`;
    this.streams.out.write(`\r\u001b[2Kpulling ${progress.image} ${bar}`);
    this.barShown = true;
  }

  ready(info: ReadyInfo, showCode: boolean): void {
    this.clearBar();
    const lines = [`${this.paint("32", "✓")} ${info.run} is ready on ${info.agent}`, `  ssh ${info.run}`];
    if (showCode) lines.push(`  ${info.vscodeUri}`);
    if (info.ready.ports.length > 0) lines.push(`  ports: ${info.ready.ports.map((p) => `${p.container} → localhost:${p.local}`).join(", ")}`);
    this.streams.out.write(`${lines.join("\n")}\n`);
  }

  note(text: string): void {
    this.clearBar();
    this.streams.out.write(`${text}\n`);
  }

  failed(message: string): void {
    this.clearBar();
    this.streams.err.write(`${this.paint("31", "✗")} ${message}\n`);
  }
}

class JsonView implements RunView {
  constructor(private readonly streams: Streams) {}

  private line(value: object): void {
    this.streams.out.write(`${JSON.stringify(value)}\n`);
  }

  chosen(agent: string, reason: string): void {
    this.line({ event: "scheduled", agent, reason });
  }

  event(event: RunEvent): void {
    const body = event.event;
    if (!body || body.$case === "ready") return; // ready() prints the one ready line
    const base = { seq: Number(event.seq), time: event.time?.toISOString(), run: event.runId };
    if (body.$case === "output") {
      this.line({ event: "output", ...base, stream: body.value.stream === OutputStream.OUTPUT_STREAM_STDERR ? "stderr" : "stdout", text: body.value.text });
    } else if (body.$case === "state") {
      this.line({ event: "state", ...base, state: stateName(body.value.state), reason: body.value.reason, message: body.value.message });
    } else if (body.$case === "pull") {
      this.line({ event: "pull", ...base, image: body.value.image, layer: body.value.layer, status: body.value.status, current: Number(body.value.current), total: Number(body.value.total) });
    }
  }

  ready(info: ReadyInfo): void {
    this.line({
      event: "ready",
      run: info.run,
      agent: info.agent,
      host: info.host,
      sshPort: info.ready.sshPort,
      user: info.ready.user,
      vscodeUri: info.vscodeUri,
      ports: info.ready.ports.map((p) => ({ container: p.container, local: p.local })),
    });
  }

  note(text: string): void {
    this.line({ event: "note", text });
  }

  failed(message: string): void {
    this.line({ event: "failed", message });
  }
}
