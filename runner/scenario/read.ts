/**
 * Reading YAML from files a contributor wrote, defensively: size caps, binary
 * and encoding detection, alias-bomb and nesting limits, duplicate keys. Every
 * problem comes back located (file:line:col), never thrown as a stack trace.
 */
import { open } from "node:fs/promises";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { Problem } from "../errors.ts";

export const LIMITS = {
  /** A scenario.yaml larger than this is not a hand-written scenario. */
  scenarioBytes: 1024 * 1024,
  /** Manifests and Markdown files referenced by a scenario. */
  fileBytes: 4 * 1024 * 1024,
  /** Aliases per document (a YAML "billion laughs" needs many). */
  aliases: 100,
  /** Nesting depth of collections. */
  depth: 64,
  /** Documents in one manifest file. */
  documents: 500,
};

export interface ReadText {
  text?: string;
  problems: Problem[];
}

const at = (file: string, message: string, line = 1, col = 1): Problem => ({ file, line, col, path: "", message });

/** Reads a text file as strict UTF-8, refusing what is not a reasonable text file. */
export async function readTextFile(file: string, maxBytes: number): Promise<ReadText> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "file not found" : code === "EISDIR" ? "is a directory, not a file" : code === "EACCES" ? "permission denied" : `cannot read file (${code ?? String(error)})`;
    return { problems: [at(file, why)] };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { problems: [at(file, "is not a regular file")] };
    if (stat.size > maxBytes) {
      return { problems: [at(file, `file is too large (${stat.size} bytes; the limit is ${maxBytes})`)] };
    }
    const buffer = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(buffer, 0, stat.size, 0);
    return decodeText(file, buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Strict UTF-8 decoding with clear messages for the usual wrong encodings. */
export function decodeText(file: string, bytes: Uint8Array): ReadText {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { problems: [at(file, "file is UTF-16 encoded; save it as UTF-8")] };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const { line, col } = lineColOfByte(bytes, nul);
    return { problems: [at(file, "file contains NUL bytes: it looks binary, not YAML or text", line, col)] };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const { line, col } = lineColOfByte(bytes, bad);
    return { problems: [at(file, "file is not valid UTF-8 (save it as UTF-8)", line, col)] };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // C0 control characters other than tab, LF and CR are not allowed in YAML.
  // eslint-disable-next-line no-control-regex
  const control = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) {
    const { line, col } = lineColOfIndex(text, control.index);
    return { problems: [at(file, `file contains a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}): it looks binary`, line, col)] };
  }
  return { text, problems: [] };
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  // the shortest invalid prefix: validity of prefixes is monotonic, so bisect
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

function lineColOfByte(bytes: Uint8Array, index: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < index && i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: index - start + 1 };
}

function lineColOfIndex(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < index; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: index - start + 1 };
}

export interface ParsedYaml {
  docs: Document.Parsed[];
  lineCounter: LineCounter;
  problems: Problem[];
}

/**
 * Parses YAML text into documents that keep their source positions.
 * Problems (syntax errors, duplicate keys, too many aliases, too deep) are
 * returned located; documents with errors are dropped.
 */
export function parseYaml(file: string, text: string, options: { multi: boolean }): ParsedYaml {
  const lineCounter = new LineCounter();
  const problems: Problem[] = [];
  const depthProblem = tooDeep(text);
  if (depthProblem) {
    const { line, col } = lineColOfIndex(text, depthProblem.index);
    return { docs: [], lineCounter, problems: [at(file, `nesting is deeper than ${LIMITS.depth} levels`, line, col)] };
  }
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
    docs = Array.isArray(parsed) ? parsed : []; // an EmptyStream has no documents
  } catch (error) {
    return { docs: [], lineCounter, problems: [at(file, `cannot parse YAML: ${(error as Error).message}`)] };
  }
  if (docs.length > LIMITS.documents) {
    return { docs: [], lineCounter, problems: [at(file, `too many YAML documents (${docs.length}; the limit is ${LIMITS.documents})`)] };
  }
  const good: Document.Parsed[] = [];
  for (const doc of docs) {
    for (const error of doc.errors) problems.push(located(file, lineCounter, error.pos[0], yamlMessage(error.code, error.message)));
    for (const warning of doc.warnings) {
      // unresolved tags and the like: a scenario must not depend on custom tags
      problems.push(located(file, lineCounter, warning.pos[0], yamlMessage(warning.code, warning.message)));
    }
    if (doc.errors.length === 0 && doc.warnings.length === 0) good.push(doc);
  }
  if (!options.multi && docs.length > 1) {
    const second = docs[1]!;
    problems.push(located(file, lineCounter, second.range[0], "a scenario file holds exactly one YAML document (found a second one after `---`)"));
  }
  return { docs: problems.length ? [] : good, lineCounter, problems };
}

/** Converts a document to plain data, turning alias bombs into a located problem. */
export function toData(file: string, lineCounter: LineCounter, doc: Document.Parsed): { value?: unknown; problem?: Problem } {
  try {
    return { value: doc.toJS({ maxAliasCount: LIMITS.aliases }) };
  } catch (error) {
    const message = (error as Error).message;
    if (/excessive alias count/i.test(message)) return { problem: located(file, lineCounter, doc.range[0], "too many aliases: this looks like a YAML alias bomb") };
    if (/unresolved alias/i.test(message)) return { problem: located(file, lineCounter, doc.range[0], `YAML error: ${message.charAt(0).toLowerCase()}${message.slice(1)}`) };
    return { problem: located(file, lineCounter, doc.range[0], `cannot read YAML: ${message}`) };
  }
}

export function located(file: string, lineCounter: LineCounter, offset: number, message: string, path = ""): Problem {
  const { line, col } = lineCounter.linePos(offset);
  return { file, line, col, path, message };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key: each field may appear once";
    case "TAG_RESOLVE_FAILED":
      return `unsupported YAML tag: ${first}`;
    default:
      return `YAML syntax error: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
  }
}

/** Flow collections nested absurdly deep would overflow the parser's stack. */
function tooDeep(text: string): { index: number } | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "#") {
      const nl = text.indexOf("\n", i);
      if (nl === -1) break;
      i = nl;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") {
      if (++depth > LIMITS.depth) return { index: i };
    } else if (c === "]" || c === "}") depth = Math.max(0, depth - 1);
    else if (c === "\n") {
      // block indentation depth: count leading spaces / 2 as a rough bound
      let j = i + 1;
      while (text[j] === " ") j++;
      if ((j - i - 1) / 2 > LIMITS.depth * 2) return { index: j };
    }
  }
  return undefined;
}

/** The YAML node at a data path (keys and indexes), for locating problems. */
export function nodeAt(doc: Document.Parsed, path: (string | number)[]): { node?: Node; keyNode?: Node } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node: node as Node };
      keyNode = pair.key as Node;
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) return { node: node as Node };
      keyNode = undefined;
      node = item;
    } else {
      return { node: node as Node };
    }
  }
  return { node: node as Node, keyNode };
}
