/**
 * The fault suite's tools: labrun as a child process with its own state
 * directory, waits on kind and Docker, a Docker that is stopped or wedged for
 * labrun alone (DOCKER_HOST at a missing socket, or at a socket proxy that is
 * then frozen: the real engine is shared and never touched), tiny tmpfs state
 * directories, the leftovers check and the table of cases.
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveKindBinary } from "../../../runner/providers/kind.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = path.join(ROOT, "runner/cli/bin.ts");
export const KIND = resolveKindBinary();

export interface Env {
  stateDir: string;
  home: string;
}

export const env: Env = { stateDir: "", home: "" };

/** labrun in a child process (its own state directory and KUBECONFIG); never rejects. */
export function labrun(args: string[], extra: Record<string, string> = {}) {
  return execa(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, LABRUN_STATE_DIR: env.stateDir, LABRUN_KIND: KIND, NO_COLOR: "1", KUBECONFIG: path.join(env.home, "kubeconfig"), ...extra },
    reject: false,
    stdin: "ignore",
    forceKillAfterDelay: false, // a signal the test sends is the only one labrun gets
  });
}

export function show(r: { command: string; exitCode?: number; signal?: string; stdout: unknown; stderr: unknown }): string {
  return `${r.command} → ${r.exitCode ?? r.signal}\n--- stdout\n${String(r.stdout)}\n--- stderr\n${String(r.stderr)}`;
}

export async function containers(cluster: string): Promise<string[]> {
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${cluster}`]);
  return stdout.split("\n").filter(Boolean);
}

/** The `kind create` processes of a cluster still running (the orphan a killed labrun leaves). */
export async function creators(cluster: string): Promise<number[]> {
  const { stdout } = await execa("ps", ["-Ao", "pid=,stat=,args="]);
  return stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !m[2]!.startsWith("Z") && / create cluster --name (\S+)/.exec(m[3]!)?.[1] === cluster)
    .map((m) => Number(m[1]));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves at labrun's first output (its signal handlers are in place by then), plus `ms`. */
export function firstOutput(child: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null }, ms = 500): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => setTimeout(resolve, ms);
    child.stdout?.once("data", done);
    child.stderr?.once("data", done);
    setTimeout(resolve, 30_000);
  });
}

/** The lab's node containers exist: kind create is past "Preparing nodes" (or in it). */
export function nodesAppear(cluster: string): Promise<string[]> {
  return waitFor(`node containers of ${cluster}`, async () => {
    const ids = await containers(cluster);
    return ids.length ? ids : undefined;
  });
}

/**
 * labrun's own start-up on this machine right now (`labrun --version`: Node loading it, no Docker, no API).
 * Time bounds add a multiple of it: on a machine with load 20-60 every labrun takes seconds to load, which is
 * not the fault's handling being slow; a hang still fails (a bound is a deadline plus this, never minutes).
 */
export async function startupMs(): Promise<number> {
  const t0 = performance.now();
  await labrun(["--version"]);
  return Math.round(performance.now() - t0);
}

type Run = ReturnType<typeof labrun>;

/** Resolves once the container runs; rejects when labrun ended before (with its output). */
export async function untilRunning(container: string, run: Run, timeoutMs = 600_000): Promise<void> {
  let ended: Awaited<Run> | undefined;
  void run.then((r) => (ended = r));
  await waitFor(`${container} to run`, async () => {
    if (ended) throw new Error(`labrun ended before ${container} ran: ${show(ended)}`);
    const r = await execa("docker", ["inspect", "-f", "{{.State.Running}}", container], { reject: false });
    return r.stdout.trim() === "true" ? true : undefined;
  }, timeoutMs);
}

/** Resolves once labrun's stderr shows `pattern` (a step it finished); rejects when it ended before. */
export function untilOutput(run: Run, pattern: RegExp, timeoutMs = 600_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(pattern)} in: ${text}`)), timeoutMs);
    run.stderr!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void run.then((r) => {
      clearTimeout(timer);
      reject(new Error(`labrun ended before ${String(pattern)}: ${show(r)}`));
    });
  });
}

/** Nothing of these labs is left: containers, kind creators, lab records, locks, temp files, kubeconfig contexts. */
export async function noLeftovers(labs: string[], stateDir = env.stateDir): Promise<void> {
  for (const lab of labs) {
    expect(await containers(`labrun-${lab}`), `containers of ${lab}`).to.deep.equal([]);
    expect(await creators(`labrun-${lab}`), `kind create processes of ${lab}`).to.deep.equal([]);
  }
  const records = await readdir(path.join(stateDir, "labs")).catch(() => [] as string[]);
  expect(records.filter((r) => labs.includes(r)), "lab records").to.deep.equal([]);
  const all = (await readdir(stateDir, { recursive: true }).catch(() => [] as string[])).map(String);
  expect(all.filter((f) => f.endsWith(".lock") || f.includes(".lock.") || f.includes(".tmp-")), "lock and temp files").to.deep.equal([]);
  for (const file of [path.join(env.home, "kubeconfig"), path.join(homedir(), ".kube", "config")]) {
    const text = existsSync(file) ? await readFile(file, "utf8") : "";
    for (const lab of labs) expect(text, `contexts of ${lab} in ${file}`).to.not.contain(`labrun-${lab}`);
  }
}

// ------------------------------------------------------------ the table of cases

export const rows: { name: string; exit: string; seconds: string }[] = [];

export function row(name: string, exit: number | string | undefined, ms: number): void {
  rows.push({ name, exit: String(exit), seconds: (ms / 1000).toFixed(1) });
}

export function table(): string {
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  return [`${"case".padEnd(w)}  exit  time`, ...rows.map((r) => `${r.name.padEnd(w)}  ${r.exit.padStart(4)}  ${r.seconds.padStart(5)}s`)].join("\n");
}

export async function timed<T extends { exitCode?: number }>(name: string, run: Promise<T>): Promise<T & { ms: number }> {
  const t0 = performance.now();
  const r = await run;
  const ms = Math.round(performance.now() - t0);
  row(name, r.exitCode, ms);
  return { ...r, ms };
}

// ------------------------------------------------------------ Docker for labrun alone

/** A socket proxy to the real engine; `freeze` SIGSTOPs it (an engine that accepts and never answers). */
export async function dockerProxy(): Promise<{ host: string; freeze: () => void; stop: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-dproxy-"));
  const socket = path.join(dir, "docker.sock");
  const target = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
  const script = path.join(dir, "proxy.mjs");
  await writeFile(
    script,
    `import net from "node:net";
net.createServer((c) => { const u = net.connect(${JSON.stringify(target)}); c.pipe(u); u.pipe(c); c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); })
  .listen(${JSON.stringify(socket)}, () => console.log("ready"));
`,
  );
  const child = execa(process.execPath, [script], { reject: false });
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  const host = `unix://${socket}`;
  const probe = await execa("docker", ["-H", host, "version", "--format", "{{.Server.Version}}"], { timeout: 20_000 });
  expect(probe.stdout.trim(), "the proxy reaches the engine before it is frozen").to.not.equal("");
  return {
    host,
    freeze: () => void child.kill("SIGSTOP"),
    stop: async () => {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** DOCKER_HOST for a stopped engine: a socket that does not exist. */
export function stoppedDocker(): string {
  return `unix://${path.join(tmpdir(), `labrun-e2e-no-docker-${process.pid}.sock`)}`;
}

// ------------------------------------------------------------ tiny state directories

/** Mounts a tmpfs (root, or passwordless sudo); undefined when this machine cannot. */
export async function tmpfs(options: string): Promise<{ dir: string; unmount: () => Promise<void> } | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-tmpfs-"));
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const run = (args: string[]) => (sudo.length ? execa(sudo[0]!, [...sudo.slice(1), ...args], { reject: false }) : execa(args[0]!, args.slice(1), { reject: false }));
  const m = await run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (m.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    unmount: async () => {
      await run(["umount", dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
