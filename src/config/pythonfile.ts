/**
 * The outside world for Python expressions (python-expressions.md §3.6): the user's
 * `[general] pythonfile`, run by a real `python3`, plus the environment, files and commands.
 *
 * The `pythonfile` is executed once, exactly as OfflineIMAP's `LocalEval` does, in a long-lived
 * `python3 -c <driver>` child started on first need. The child reads one JSON request per line
 * on its stdin (get a global, get an attribute, call a function) and answers one JSON line on
 * its stdout; closing its stdin ends it. Objects that are not plain data (functions, modules)
 * stay in the child and are referred to by number. Replies are memoised per distinct request,
 * so each function is called once per distinct argument list.
 *
 * Options such as `nametrans` and `folderfilter` are called synchronously by the engine, so the
 * bridge also offers a blocking request: the child is driven by a worker thread and the caller
 * waits on a shared buffer (`Atomics.wait`) until the worker has the answer. Asynchronous
 * requests (`remotepasseval`, which may wait for a gpg prompt) do not block the event loop.
 *
 * The worker's code is embedded as a `data:` URL, which survives `deno compile` and
 * `deno bundle`; nothing is read from beside this file at run time.
 *
 * @module
 */

import type {
  CommandRequest,
  CommandResult,
  ExpressionHooks,
  FileResult,
  PythonBridge,
  PythonReply,
  PythonRequest,
} from "./py_expr.ts";

/**
 * The Python side. `sys.argv[1]` is the pythonfile. Loads it like OfflineIMAP's LocalEval
 * (any file name, module name '<none>', every name of dir(module) is a global), then serves
 * requests. User code cannot read the requests nor write into the answers: the protocol uses
 * private copies of fd 0 and 1; fd 0 becomes the terminal (for prompts) or /dev/null, fd 1 goes
 * to stderr.
 */
const DRIVER = String.raw`
import sys, os, json, base64, traceback, types, importlib, importlib.util, importlib.machinery
proto_in = os.fdopen(os.dup(0), "rb")
proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
try:
    tty = os.open("/dev/tty", os.O_RDWR)
except OSError:
    tty = os.open(os.devnull, os.O_RDWR)
os.dup2(tty, 0)
os.dup2(2, 1)
objects = {}
ids = {}
def ref(obj):
    key = id(obj)
    if key in ids:
        return ids[key]
    n = len(objects) + 1
    objects[n] = obj
    ids[key] = n
    return n
def enc(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return {"$int": str(v)}
    if isinstance(v, float):
        return {"$float": v if v == v and v not in (float("inf"), float("-inf")) else repr(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    if type(v) is list:
        return [enc(x) for x in v]
    if type(v) is tuple:
        return {"$tuple": [enc(x) for x in v]}
    if type(v) in (set, frozenset):
        return {"$set": [enc(x) for x in v]}
    if type(v) is dict:
        return {"$dict": [[enc(k), enc(x)] for k, x in v.items()]}
    try:
        text = repr(v)
    except Exception:
        text = "<object>"
    module = v.__name__ if isinstance(v, types.ModuleType) else None
    return {"$ref": ref(v), "type": type(v).__name__, "callable": callable(v), "repr": text[:200], "module": module}
def dec(w):
    if w is None or isinstance(w, (bool, str)):
        return w
    if isinstance(w, list):
        return [dec(x) for x in w]
    if "$int" in w:
        return int(w["$int"])
    if "$float" in w:
        return float(w["$float"])
    if "$bytes" in w:
        return base64.b64decode(w["$bytes"])
    if "$tuple" in w:
        return tuple(dec(x) for x in w["$tuple"])
    if "$set" in w:
        return set(dec(x) for x in w["$set"])
    if "$dict" in w:
        return {dec(k): dec(x) for k, x in w["$dict"]}
    return objects[w["$ref"]]
def name_of(e):
    t = type(e)
    return t.__qualname__ if t.__module__ == "builtins" else t.__module__ + "." + t.__qualname__
def send(obj):
    proto_out.write(json.dumps(obj) + "\n")
    proto_out.flush()
def failure(e):
    # Skip the driver's own frame: the user only needs the frames of the pythonfile.
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
    text = "".join(traceback.format_exception(type(e), e, tb)) if tb is not None else ""
    return {"error": {"type": name_of(e), "message": str(e), "traceback": text}}
namespace = {}
try:
    importlib.machinery.SOURCE_SUFFIXES.append("")
    spec = importlib.util.spec_from_file_location("<none>", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr in dir(module):
        namespace[attr] = getattr(module, attr)
    send({"ok": sorted(namespace)})
except BaseException as e:
    send(failure(e))
    sys.exit(0)
for line in proto_in:
    try:
        req = json.loads(line)
        op = req["op"]
        if op == "get":
            if req["name"] not in namespace:
                raise NameError("name %r is not defined" % req["name"])
            value = namespace[req["name"]]
        elif op == "getattr":
            if req["name"].startswith("__"):
                raise AttributeError("double-underscore attributes are not available")
            value = getattr(objects[req["ref"]], req["name"])
        else:
            if op == "call":
                func = objects[req["ref"]]
            else:
                func = getattr(importlib.import_module(req["module"]), req["name"])
            value = func(*[dec(a) for a in req["args"]], **{k: dec(v) for k, v in req["kwargs"]})
        send({"ok": enc(value)})
    except BaseException as e:
        send(failure(e))
`;

/**
 * The worker thread that owns the child. Messages: `start` (spawn, answer through the shared
 * buffer), `request` (answer through the buffer when `sync`, else by message), `close`.
 * Shared buffer layout: int32 state (0 waiting, 1 ready), int32 length, then UTF-8 bytes.
 */
const WORKER = String.raw`
let child, writer, reader, sab, ctrl, bytes, dead;
let buffered = "";
const queue = [];
let busy = false;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
function answerSync(text) {
  const data = encoder.encode(text);
  if (8 + data.length > sab.byteLength) sab.grow(Math.min(sab.maxByteLength, 8 + data.length));
  const room = new Uint8Array(sab, 8);
  const n = Math.min(data.length, room.length);
  room.set(data.subarray(0, n));
  Atomics.store(ctrl, 1, n);
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
async function readLine() {
  for (;;) {
    const nl = buffered.indexOf("\n");
    if (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      return line;
    }
    const r = await reader.read();
    if (r.done) return undefined;
    buffered += decoder.decode(r.value, { stream: true });
  }
}
function failure(type, message) {
  return JSON.stringify({ error: { type, message } });
}
async function start(msg) {
  try {
    await spawn(msg);
  } catch (e) {
    dead = "cannot start " + msg.python + ": " + e.message;
    answerSync(failure("PythonUnavailable", dead));
  }
}
async function spawn(msg) {
  sab = msg.sab;
  ctrl = new Int32Array(sab, 0, 2);
  try {
    child = new Deno.Command(msg.python, {
      args: ["-c", msg.driver, msg.path],
      stdin: "piped",
      stdout: "piped",
      stderr: msg.stderr,
    }).spawn();
  } catch (e) {
    dead = e instanceof Deno.errors.NotFound
      ? msg.python + " was not found (is Python 3 installed?)"
      : "cannot start " + msg.python + ": " + e.message;
    answerSync(failure("PythonUnavailable", dead));
    return;
  }
  writer = child.stdin.getWriter();
  reader = child.stdout.getReader();
  const hello = await readLine();
  if (hello === undefined) {
    dead = msg.python + " exited before loading the pythonfile";
    answerSync(failure("PythonUnavailable", dead));
    return;
  }
  answerSync(hello);
}
async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const msg = queue.shift();
    let answer;
    if (dead !== undefined) answer = failure("PythonUnavailable", dead);
    else {
      try {
        await writer.write(encoder.encode(msg.line + "\n"));
        answer = await readLine();
      } catch (e) {
        answer = undefined;
      }
      if (answer === undefined) {
        dead = "the python3 process running the pythonfile has exited";
        answer = failure("PythonUnavailable", dead);
      }
    }
    if (msg.sync) answerSync(answer);
    else self.postMessage({ type: "reply", id: msg.id, line: answer });
  }
  busy = false;
}
async function close() {
  try {
    if (writer !== undefined) await writer.close();
  } catch (_) { /* already gone */ }
  try {
    if (reader !== undefined) {
      while (!(await reader.read()).done) { /* drain */ }
    }
  } catch (_) { /* already gone */ }
  if (child !== undefined) await child.status;
  self.postMessage({ type: "closed" });
}
self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "start") start(msg);
  else if (msg.type === "request") {
    queue.push(msg);
    pump();
  } else if (msg.type === "close") {
    const wait = () => busy ? setTimeout(wait, 5) : close();
    wait();
  }
};
`;

/** Options of {@link PythonFile}. */
export interface PythonFileOptions {
  /** Interpreter to run (default `python3`). */
  readonly python?: string;
  /** Where the child's stderr goes (tracebacks, `print` output): default `inherit`. */
  readonly stderr?: "inherit" | "null";
}

const INITIAL_BUFFER = 64 * 1024;
const MAX_BUFFER = 64 * 1024 * 1024;

/**
 * The user's `pythonfile`, evaluated once by a `python3` child started on first use.
 *
 * Implements {@link PythonBridge}. Call {@link close} when done: it closes the child's stdin,
 * waits for it to exit and stops the worker thread (until then the program cannot exit).
 */
export class PythonFile implements PythonBridge {
  readonly path: string;
  readonly #options: PythonFileOptions;
  #worker?: Worker;
  #ctrl?: Int32Array;
  #sab?: SharedArrayBuffer;
  #globals?: { readonly names: ReadonlySet<string> } | { readonly unavailable: string };
  #nextId = 1;
  readonly #pending = new Map<number, (line: string) => void>();
  readonly #memo = new Map<string, PythonReply>();
  #closing?: Promise<void>;

  constructor(path: string, options: PythonFileOptions = {}) {
    this.path = path;
    this.#options = options;
  }

  /** Starts the child if needed; never throws (see {@link PythonBridge.globals}). */
  globals(): { readonly names: ReadonlySet<string> } | { readonly unavailable: string } {
    if (this.#globals !== undefined) return this.#globals;
    if (this.#closing !== undefined) {
      this.#globals = { unavailable: "the pythonfile bridge was closed" };
      return this.#globals;
    }
    const python = this.#options.python ?? "python3";
    const sab = new SharedArrayBuffer(INITIAL_BUFFER, { maxByteLength: MAX_BUFFER });
    this.#sab = sab;
    this.#ctrl = new Int32Array(sab, 0, 2);
    const worker = new Worker(`data:text/javascript,${encodeURIComponent(WORKER)}`, {
      type: "module",
    });
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent) => {
      const msg = e.data as { type: string; id?: number; line?: string };
      if (msg.type === "reply" && msg.id !== undefined) {
        const resolve = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        resolve?.(msg.line ?? "");
      }
    };
    Atomics.store(this.#ctrl, 0, 0);
    worker.postMessage({
      type: "start",
      python,
      driver: DRIVER,
      path: this.path,
      sab,
      stderr: this.#options.stderr ?? "inherit",
    });
    const reply = JSON.parse(this.#waitSync()) as PythonReply;
    if ("error" in reply) {
      const { type, message } = reply.error;
      this.#globals = {
        unavailable: type === "PythonUnavailable"
          ? message
          : `the pythonfile raised ${type}: ${message}`,
      };
    } else this.#globals = { names: new Set(reply.ok as string[]) };
    return this.#globals;
  }

  #waitSync(): string {
    const ctrl = this.#ctrl as Int32Array;
    Atomics.wait(ctrl, 0, 0);
    const length = Atomics.load(ctrl, 1);
    const text = new TextDecoder().decode(
      new Uint8Array(this.#sab as SharedArrayBuffer, 8, length).slice(),
    );
    Atomics.store(ctrl, 0, 0);
    return text;
  }

  #unavailable(): PythonReply | undefined {
    const g = this.globals();
    if ("unavailable" in g) {
      return { error: { type: "PythonUnavailable", message: g.unavailable } };
    }
    return undefined;
  }

  /** Blocking request; replies are memoised per distinct request when successful. */
  requestSync(request: PythonRequest): PythonReply {
    const key = JSON.stringify(request);
    const memo = this.#memo.get(key);
    if (memo !== undefined) return memo;
    const unavailable = this.#unavailable();
    if (unavailable !== undefined) return unavailable;
    Atomics.store(this.#ctrl as Int32Array, 0, 0);
    (this.#worker as Worker).postMessage({ type: "request", sync: true, line: key });
    return this.#remember(key, JSON.parse(this.#waitSync()) as PythonReply);
  }

  /** Non-blocking request; replies are memoised per distinct request when successful. */
  async request(request: PythonRequest): Promise<PythonReply> {
    const key = JSON.stringify(request);
    const memo = this.#memo.get(key);
    if (memo !== undefined) return memo;
    const unavailable = this.#unavailable();
    if (unavailable !== undefined) return unavailable;
    const id = this.#nextId++;
    const line = await new Promise<string>((resolve) => {
      this.#pending.set(id, resolve);
      (this.#worker as Worker).postMessage({ type: "request", sync: false, id, line: key });
    });
    return this.#remember(key, JSON.parse(line) as PythonReply);
  }

  #remember(key: string, reply: PythonReply): PythonReply {
    if ("ok" in reply) this.#memo.set(key, reply);
    return reply;
  }

  /** Closes the child's stdin, waits for it to exit, stops the worker. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      worker.onmessage = (e: MessageEvent) => {
        const msg = e.data as { type: string; id?: number; line?: string };
        if (msg.type === "closed") resolve();
        else if (msg.type === "reply" && msg.id !== undefined) {
          this.#pending.get(msg.id)?.(msg.line ?? "");
          this.#pending.delete(msg.id);
        }
      };
      worker.postMessage({ type: "close" });
    });
    worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

const EMPTY = new Uint8Array();

function commandOptions(request: CommandRequest): { program: string; args: string[] } {
  const [program, ...args] = request.argv;
  if (program === undefined) throw new TypeError("Empty command");
  if (request.captureStderr === "stdout") {
    // Deno cannot point two pipes at one descriptor; a shell wrapper does it exactly.
    return { program: "/bin/sh", args: ["-c", 'exec "$@" 2>&1', "sh", program, ...args] };
  }
  return { program, args };
}

function spawnFailure(error: unknown): CommandResult {
  if (error instanceof Deno.errors.NotFound) {
    return { status: 127, stdout: EMPTY, stderr: EMPTY, notFound: true };
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return { status: 126, stdout: EMPTY, stderr: EMPTY, permissionDenied: true };
  }
  throw error;
}

/**
 * Runs a command without a shell (argv as given; shell strings arrive as `/bin/sh -c`), stdout
 * and stderr captured or inherited as requested, stdin inherited unless `input` is given.
 * `env` adds variables to the inherited environment (tests use it).
 */
export async function runCommand(
  request: CommandRequest,
  env?: Readonly<Record<string, string>>,
): Promise<CommandResult> {
  const { program, args } = commandOptions(request);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env,
      stdin: request.input === undefined ? "inherit" : "piped",
      stdout: request.captureStdout ? "piped" : "inherit",
      stderr: request.captureStderr === false ? "inherit" : "piped",
    }).spawn();
  } catch (error) {
    return spawnFailure(error);
  }
  if (request.input !== undefined) {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(request.input);
      await writer.close();
    } catch {
      // The command may exit without reading its input, as with Python's communicate().
    }
  }
  const [stdout, stderr, status] = await Promise.all([
    request.captureStdout ? new Response(child.stdout).bytes() : Promise.resolve(EMPTY),
    request.captureStderr === false ? Promise.resolve(EMPTY) : new Response(child.stderr).bytes(),
    child.status,
  ]);
  return { status: status.code, signal: status.signal ?? undefined, stdout, stderr };
}

/**
 * Synchronous twin of {@link runCommand}, for sync-mode evaluation; `input` is not supported.
 */
export function runCommandSync(
  request: CommandRequest,
  env?: Readonly<Record<string, string>>,
): CommandResult {
  if (request.input !== undefined) {
    throw new TypeError("Cannot pass input to a command in a synchronous evaluation");
  }
  const { program, args } = commandOptions(request);
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(program, {
      args,
      env,
      stdin: "inherit",
      stdout: request.captureStdout ? "piped" : "inherit",
      stderr: request.captureStderr === false ? "inherit" : "piped",
    }).outputSync();
  } catch (error) {
    return spawnFailure(error);
  }
  return {
    status: out.code,
    signal: out.signal ?? undefined,
    stdout: request.captureStdout ? out.stdout : EMPTY,
    stderr: request.captureStderr === false ? EMPTY : out.stderr,
  };
}

/** Reads a whole file for `open(path).read()`, mapping errors to errno names. */
export function readFileForPython(path: string): FileResult {
  try {
    return { data: Deno.readFileSync(path) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { error: "ENOENT" };
    if (error instanceof Deno.errors.PermissionDenied) return { error: "EACCES" };
    if (error instanceof Deno.errors.IsADirectory) return { error: "EISDIR" };
    return { error: (error as Error).message };
  }
}

/** Options of {@link createSystemHooks}. */
export interface SystemHooksOptions {
  /** `[general] pythonfile`, expanded and absolute, when configured. */
  readonly pythonFile?: string;
  /** Interpreter for the pythonfile (default `python3`). */
  readonly python?: string;
  /** Where the child's stderr goes (default `inherit`). */
  readonly pythonStderr?: "inherit" | "null";
  /** Receives warnings (the `cmp` shim, superset names). */
  readonly warn?: (message: string) => void;
}

/** Real hooks for the interpreter plus the way to release them. */
export interface SystemHooks {
  readonly hooks: ExpressionHooks;
  /** Ends the pythonfile child if one was started. */
  close(): Promise<void>;
}

/**
 * The real outside world for expressions: `Deno.env`, `Deno.readFileSync`, `Deno.Command`,
 * and a lazily started {@link PythonFile} when `pythonFile` is set. One per loaded config;
 * `close()` it at the end of the run.
 */
export function createSystemHooks(options: SystemHooksOptions = {}): SystemHooks {
  const python = options.pythonFile === undefined ? undefined : new PythonFile(options.pythonFile, {
    python: options.python,
    stderr: options.pythonStderr,
  });
  return {
    hooks: {
      env: (name) => Deno.env.get(name),
      homeDir: () => Deno.env.get("HOME"),
      readFile: readFileForPython,
      runCommand,
      runCommandSync,
      python,
      warn: options.warn,
    },
    close: () => python?.close() ?? Promise.resolve(),
  };
}
