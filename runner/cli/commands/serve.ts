import { readFile } from "node:fs/promises";
import { ExitCode, UsageError } from "../../errors.ts";
import { GIB, hostProbes, MEMORY_PER_NODE } from "../../lab/preflight.ts";
import { MAX_POOL_SIZE } from "../../lab/pool/fill.ts";
import { libraryBackend } from "../../serve/backend.ts";
import { LabManager } from "../../serve/labs.ts";
import { buildServer } from "../../serve/server.ts";
import { parseWarm, Warmer, warmBytes } from "../../serve/warm.ts";
import { parseDuration } from "../../util/duration.ts";
import { list, str, type Command } from "../command.ts";

/** A platform token shorter than this is refused: it must not be guessable. */
export const MIN_TOKEN_LENGTH = 16;
const SWEEP_MS = 15_000;

async function platformToken(file: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  let token: string | undefined;
  let from = "LABRUN_SERVE_TOKEN";
  if (file) {
    from = file;
    try {
      token = (await readFile(file, "utf8")).trim();
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
  } else token = env.LABRUN_SERVE_TOKEN?.trim();
  if (!token) {
    throw new UsageError("labrun serve needs a platform token: there is no default", {
      hint: "pass --token-file FILE or set LABRUN_SERVE_TOKEN, e.g. `openssl rand -hex 24 > token && labrun serve --token-file token`",
    });
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new UsageError(`the platform token from ${from} is too weak: use at least ${MIN_TOKEN_LENGTH} characters and no spaces`, { hint: "`openssl rand -hex 24` makes one" });
  }
  return token;
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number of at least 1, got "${text}"`);
  return n;
}

const command: Command = {
  name: "serve",
  summary: "Serve the HTTP API for course platforms (start, grade, delete labs).",
  usage: "labrun serve [--port N] [--host ADDR] [--token-file FILE] [--max-labs N] [--memory GIB] [--lab-ttl DURATION] [--warm SCENARIO=N]",
  description: `
Serves labrun's versioned JSON API (OpenAPI document: GET /v1/openapi.json, also
schemas/openapi.json). Every other route needs \`Authorization: Bearer <token>\`
with the platform token from --token-file or $LABRUN_SERVE_TOKEN (no default),
or, for one lab's status, events, terminal, grade and reports, that lab's learner
token. The learner's page (learnerPath in the create answer) has the task, a
terminal (a shell in the lab's toolbox pod, with kubectl as cluster-admin of the
lab's cluster, never on this host) and a grade button.

Labs are deleted when they expire (--lab-ttl, or ttlSeconds per lab) and when
the server stops (Ctrl-C). A lab that would exceed --max-labs or the memory
budget (--memory, default: the host's available memory, about 1 GiB per node)
gets 503 AT_CAPACITY instead of a failed start.

A lab starts on a warm pool cluster of its scenario's shape when one is ready
(seconds instead of a cold start; the lab's warmCluster names it).
--warm SCENARIO=N keeps N of them ready, with the terminal's toolbox loaded:
serve fills them at start, tops the pool up after every lab start, and deletes
the ones it made when it stops; their memory is set aside from the budget.
Clusters that \`labrun pool fill\` makes with the same LABRUN_STATE_DIR are
claimed too (the toolbox is then loaded at claim).`,
  options: {
    port: { type: "string", value: "N", description: "Port to listen on (default 8080; 0 picks a free one)." },
    host: { type: "string", value: "ADDR", description: "Address to listen on (default 127.0.0.1)." },
    "token-file": { type: "string", value: "FILE", description: "A file holding the platform token (default: $LABRUN_SERVE_TOKEN)." },
    "max-labs": { type: "string", value: "N", description: "At most N labs at once (default 20)." },
    memory: { type: "string", value: "GIB", description: "Memory the labs may use together, in GiB (default: the host's available memory)." },
    "lab-ttl": { type: "string", value: "DURATION", description: "Delete a lab this long after it was created (default 2h)." },
    warm: { type: "string", value: "SCENARIO=N", multiple: true, description: `Keep N warm clusters (1-${MAX_POOL_SIZE}) for SCENARIO's labs ready.` },
  },
  args: { min: 0, max: 0 },
  async run(args, io) {
    const token = await platformToken(str(args, "token-file"), io.env);
    const port = Number(str(args, "port") ?? "8080");
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a port number (0 to 65535), got "${str(args, "port")}"`);
    const maxLabs = positiveInt(str(args, "max-labs"), "max-labs", 20);
    const ttlMs = parseDuration(str(args, "lab-ttl") ?? "2h");
    const memoryText = str(args, "memory");
    let memoryBytes: number | undefined;
    if (memoryText !== undefined) {
      const gib = Number(memoryText);
      if (!(gib > 0)) throw new UsageError(`--memory must be a number of GiB above 0, got "${memoryText}"`);
      memoryBytes = gib * GIB;
    } else memoryBytes = await hostProbes({ env: io.env }).memAvailable();
    const backend = libraryBackend({ env: io.env, cwd: io.cwd });
    const targets = parseWarm(list(args, "warm"), await backend.scenarios(), MAX_POOL_SIZE);
    if (memoryBytes !== undefined && targets.length) {
      const reserved = warmBytes(targets);
      if (reserved >= memoryBytes) throw new UsageError(`--warm needs about ${(reserved / GIB).toFixed(1)} GiB for its clusters, the labs may use ${(memoryBytes / GIB).toFixed(1)} GiB`, { hint: "warm fewer clusters, or raise --memory" });
      memoryBytes -= reserved;
    }
    const warmer = new Warmer(backend, targets, (line) => io.stderr.write(`${line}\n`));
    const manager = new LabManager({ backend, maxLabs, ttlMs, warmer, ...(memoryBytes !== undefined ? { memoryBytes } : {}) });
    await manager.scenarios(); // an unreadable scenario folder fails here, not on the first request
    const app = await buildServer({ manager, token, logger: io.env.LABRUN_DEBUG === "1" });
    const address = await app.listen({ port, host: str(args, "host") ?? "127.0.0.1" });
    const budget = memoryBytes !== undefined ? `, about ${Math.floor(memoryBytes / MEMORY_PER_NODE)} nodes of memory` : "";
    const warm = targets.length ? `; keeping warm: ${targets.map((t) => `${t.scenario.summary.name}=${t.size}`).join(", ")}` : "";
    io.stdout.write(`labrun serve listening on ${address} (up to ${maxLabs} labs${budget}${warm}; OpenAPI: ${address}/v1/openapi.json)\n`);
    warmer.poke();
    const sweep = setInterval(() => void manager.sweep(), SWEEP_MS);
    await new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener("abort", () => resolve(), { once: true })));
    clearInterval(sweep);
    io.stderr.write("labrun serve: deleting the labs and stopping\n");
    const failures = (await Promise.all([manager.closeAll(), warmer.close()])).flat();
    await app.close();
    for (const failure of failures) io.stderr.write(`warning: a lab was not deleted: ${failure}\n`);
    return failures.length ? ExitCode.infrastructure : ExitCode.ok;
  },
};

export default command;
