import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { type ClientReadableStream, status } from "@grpc/grpc-js";
import { type Ready, type RunEvent, RunState } from "../../shared/gen/berth/v1/run.js";
import { ExitCode } from "../exit.js";
import type { AgentConnection } from "../fleet/connect.js";
import { type RunView, vscodeUri } from "../render/run-view.js";
import { addRunHost, removeRunHost, sshPaths } from "../ssh/config-files.js";
import { forgetRun, rememberRun } from "./records.js";

export interface SessionTarget {
  home: string;
  agent: string;
  /** Where the agent's published ports are, when Ready.host is empty. */
  agentHost: string;
  connection: AgentConnection;
  runId: string;
  runName: string;
}

export interface SessionOptions {
  view: RunView;
  showCode: boolean;
  detach: boolean;
}

/**
 * Follows a run's events until it is ready, then (unless detached) stays
 * attached: tunnels the workflow's ports to localhost with `ssh -L`, keeps
 * streaming output, and on Ctrl-C asks whether to stop the run (on a TTY) or
 * simply detaches. Returns the exit code.
 */
export async function runSession(
  target: SessionTarget,
  first: ClientReadableStream<RunEvent>,
  options: SessionOptions,
  /** An event the caller already read from `first` (StartRun's first answer), handled before the rest. */
  alreadyRead?: RunEvent,
): Promise<number> {
  const { view } = options;
  let lastSeq = 0;
  let ready: Ready | undefined;
  let tunnels: ChildProcess[] = [];
  let stream = first;
  let settle: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (settle = resolve));
  let finished = false;
  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    for (const tunnel of tunnels) tunnel.kill("SIGTERM");
    stream.cancel();
    settle(code);
  };

  const onReady = async (value: Ready) => {
    ready = value;
    const host = value.host || target.agentHost;
    await addRunHost(target.home, { alias: target.runName, hostName: host, port: value.sshPort, user: value.user, hostPublicKey: value.hostPublicKey });
    await rememberRun(target.home, { name: target.runName, runId: target.runId, agent: target.agent });
    view.ready({ run: target.runName, agent: target.agent, host, ready: value, vscodeUri: vscodeUri(target.runName, value.workingDir) }, options.showCode);
    if (options.detach) {
      finish(ExitCode.Ok);
      return;
    }
    tunnels = startTunnels(target.home, target.runName, value, view);
  };

  const onEvent = (event: RunEvent) => {
    lastSeq = Math.max(lastSeq, Number(event.seq));
    view.event(event);
    const body = event.event;
    if (body?.$case === "ready") {
      onReady(body.value).catch((error: unknown) => {
        view.failed(`could not write the ssh config: ${(error as Error).message}`);
        finish(ExitCode.RunFailed);
      });
    } else if (body?.$case === "state" && (body.value.state === RunState.RUN_STATE_STOPPED || body.value.state === RunState.RUN_STATE_FAILED)) {
      const failedRun = body.value.state === RunState.RUN_STATE_FAILED;
      if (failedRun) view.failed(`${target.runName} failed (${body.value.reason}): ${body.value.message}`);
      else view.note(`${target.runName} stopped`);
      void Promise.all([removeRunHost(target.home, target.runName), forgetRun(target.home, target.runName)]).finally(() =>
        finish(failedRun ? ExitCode.RunFailed : ExitCode.Ok),
      );
    }
  };

  const follow = (call: ClientReadableStream<RunEvent>) => {
    stream = call;
    call.on("data", onEvent);
    call.on("error", (error: { code?: number; details?: string }) => {
      if (finished || error.code === status.CANCELLED) return;
      if (error.code === status.UNAVAILABLE) {
        // The agent went away (restart, network): resume from the last event we saw, with no gap.
        view.note(`lost the agent (${error.details ?? "unavailable"}); reconnecting…`);
        setTimeout(() => {
          if (!finished) follow(target.connection.client.watchRun({ run: target.runId, afterSeq: BigInt(lastSeq), follow: true }, target.connection.metadata));
        }, 1000);
        return;
      }
      view.failed(error.details ?? "the event stream failed");
      finish(ExitCode.RunFailed);
    });
    call.on("end", () => {
      if (!finished && ready === undefined) finish(ExitCode.RunFailed);
    });
  };
  if (alreadyRead) onEvent(alreadyRead);
  follow(first);
  first.resume();

  const interrupts = handleInterrupts({
    view,
    isAttached: () => ready !== undefined && !options.detach,
    stop: async () => {
      view.note(`stopping ${target.runName}…`);
      await new Promise<void>((resolve) =>
        target.connection.client.stopRun({ run: target.runId, timeoutSeconds: 0, abort: false }, target.connection.metadata, () => resolve()),
      );
    },
    detach: () => {
      view.note(`detached; ${target.runName} keeps running (berth attach ${target.runName}, berth stop ${target.runName})`);
      finish(ExitCode.Ok);
    },
    abort: () => finish(ExitCode.Interrupted),
  });
  const code = await done;
  interrupts.dispose();
  return code;
}

/** One `ssh -N -L` per workflow port, through the run's own sshd and our ssh config. */
function startTunnels(home: string, alias: string, ready: Ready, view: RunView): ChildProcess[] {
  if (ready.ports.length === 0) return [];
  const forwards = ready.ports.flatMap((p) => ["-L", `127.0.0.1:${p.local}:127.0.0.1:${p.container}`]);
  const tunnel = spawn(
    "ssh",
    ["-F", sshPaths(home).config, "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "BatchMode=yes", ...forwards, alias],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  tunnel.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  tunnel.on("exit", (code, signal) => {
    if (signal !== "SIGTERM" && code !== 0) view.note(`port forwarding stopped (ssh exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`);
  });
  return [tunnel];
}

interface InterruptHandlers {
  view: RunView;
  isAttached: () => boolean;
  stop: () => Promise<void>;
  detach: () => void;
  abort: () => void;
}

/** Ctrl-C: on a TTY ask "Stop the run? [y/N]"; without one just detach; a second Ctrl-C aborts at once. */
function handleInterrupts(handlers: InterruptHandlers): { dispose(): void } {
  let asking = false;
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const onSigint = () => {
    if (asking || !tty) {
      if (asking) handlers.abort();
      else if (handlers.isAttached()) handlers.detach();
      else handlers.abort();
      return;
    }
    asking = true;
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    // readline turns a Ctrl-C typed at the prompt into its own SIGINT event.
    prompt.on("SIGINT", () => {
      prompt.close();
      handlers.abort();
    });
    prompt.question("\nStop the run? [y/N] ", (answer) => {
      prompt.close();
      asking = false;
      if (/^y(es)?$/i.test(answer.trim())) {
        handlers.stop().catch(() => handlers.abort());
      } else {
        handlers.detach();
      }
    });
  };
  process.on("SIGINT", onSigint);
  return { dispose: () => process.off("SIGINT", onSigint) };
}
