/**
 * A throwaway Dovecot 2.3 on 127.0.0.1 for integration tests and manual experiments.
 *
 * Everything lives in one temp dir: config, base_dir, state_dir, logs, certificate and the
 * users' mail homes, so a system Dovecot (or another test file's server) never interferes.
 * Any user name logs in with {@linkcode DovecotServer.password}; each user gets an empty
 * `maildir:~/Maildir` (Maildir++ layout, hierarchy separator ".") on first use.
 *
 * Lifetime: Dovecot runs in the foreground under a small `sh` supervisor that is detached
 * from Deno, so a running server holds no Deno resource and survives test boundaries without
 * tripping the sanitizers. The supervisor stops Dovecot and removes the temp dir when
 * {@linkcode DovecotServer.stop} signals it, or when the owning Deno process dies (even by
 * SIGKILL), so a crashed test run leaves no server behind.
 *
 * Cost, measured on the 2-core CI machine: a start takes 0.1–0.25 s (self-signed EC certificate,
 * config, then both ports greet); a stop takes ~1.2 s, which is Dovecot's master waiting for its
 * children after SIGTERM.
 *
 * Linux only (reads /proc). Works as root, where Dovecot refuses root for imap-login and for
 * mail processes, so those run as dovenull and nobody, and as a normal user, where every
 * Dovecot user setting names that user and chroot is disabled.
 *
 * As a script: `deno run -A scripts/dovecot.ts start [--no-uidplus]` prints the server as JSON
 * and runs until SIGINT or SIGTERM.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Path of the Dovecot master binary this harness starts. */
export const DOVECOT_BINARY = "/usr/sbin/dovecot";
/** Path of the doveadm binary used as the second channel into the server's mail. */
export const DOVEADM_BINARY = "/usr/bin/doveadm";
/** Path of Dovecot's imap binary, run directly for PREAUTH sessions. */
export const IMAP_BINARY = "/usr/lib/dovecot/imap";

/** Options for {@linkcode startDovecot}. */
export interface DovecotOptions {
  /**
   * Advertise UIDPLUS (default true). When false, `imap_capability` is set to Dovecot's
   * default list without UIDPLUS. Dovecot 2.3.19 still sends APPENDUID and COPYUID response
   * codes then: only the capability is hidden.
   */
  uidplus?: boolean;
  /** Raw Dovecot config appended at the end of the generated config; later settings win. */
  extraConfig?: string;
}

/** Options for {@linkcode DovecotServer.seed}. */
export interface SeedOptions {
  /** IMAP flags and keywords, e.g. `["\\Seen", "$Label1"]`; `\Recent` is not allowed. */
  flags?: string[];
  /** INTERNALDATE of the message (whole seconds, stored as UTC); default: now. */
  internalDate?: Date;
}

/** One message as {@linkcode DovecotServer.listMessages} returns it. */
export interface ServerMessage {
  uid: number;
  /** Flags and keywords as IMAP shows them, without `\Recent`, in Dovecot's order. */
  flags: string[];
  /**
   * The message as Dovecot sends it in `BODY[]`: the stored bytes with every LF not preceded
   * by CR turned into CRLF and every NUL turned into 0x80. A CRLF message without NUL or bare
   * CR comes back byte for byte as it was seeded.
   */
  body: Uint8Array;
  /** The bytes in the Maildir file: Dovecot stores CRLF as LF and drops a final bare CR. */
  stored: Uint8Array;
}

/** Result of {@linkcode DovecotServer.doveadm}. */
export interface DoveadmResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/**
 * A running throwaway Dovecot. Mailbox names in all helpers are IMAP names (modified UTF-7,
 * e.g. `"G&AOQ-ste"`) with hierarchy separator `"."`; the helpers translate to the UTF-8
 * names doveadm wants. Helpers throw `Error` with doveadm's stderr when a command fails.
 */
export interface DovecotServer {
  host: "127.0.0.1";
  /** Implicit-TLS (imaps) port. */
  tlsPort: number;
  /** Plain port that advertises STARTTLS; LOGIN works here without TLS too. */
  plainPort: number;
  /** The one password every user name logs in with (PLAIN, LOGIN and CRAM-MD5). */
  password: string;
  /** PEM file of the self-signed certificate (CN and SAN `localhost`, SAN IP 127.0.0.1). */
  caFile: string;
  certPem: string;
  /** Lower-case hex without colons of the SHA-256 of the DER certificate. */
  fingerprintSha256: string;
  /** Lower-case hex without colons of the SHA-1 of the DER certificate. */
  fingerprintSha1: string;
  /** The temp dir holding everything; removed by {@linkcode stop}. */
  dir: string;
  configFile: string;
  logFile: string;
  imapBinary: string;
  /** A user name not handed out before by this server: `<prefix>-<n>`. */
  newUser(prefix?: string): string;
  /** Runs `doveadm -c <config> ...args`; never throws on a non-zero exit code. */
  doveadm(args: string[], stdin?: Uint8Array | string): Promise<DoveadmResult>;
  /** Appends one message (creating the mailbox if missing) through a PREAUTH imap session. */
  seed(
    user: string,
    mailbox: string,
    message: Uint8Array | string,
    opts?: SeedOptions,
  ): Promise<void>;
  /** Creates a mailbox; throws if it already exists. */
  createMailbox(user: string, mailbox: string): Promise<void>;
  /** All messages in UID order; throws if the mailbox does not exist. */
  listMessages(user: string, mailbox: string): Promise<ServerMessage[]>;
  /** Selectable mailboxes, sorted; `\Noselect` parents such as "a" for "a.b" are left out. */
  listMailboxes(user: string): Promise<string[]>;
  /** Replaces the flags of one message. */
  setFlags(user: string, mailbox: string, uid: number, flags: string[]): Promise<void>;
  /** Expunges one message. */
  expunge(user: string, mailbox: string, uid: number): Promise<void>;
  /** Sets the mailbox's UIDVALIDITY, as a server that renumbered its UIDs would. */
  changeUidValidity(user: string, mailbox: string, value: number): Promise<void>;
  /** A `sh` command line that speaks IMAP in PREAUTH state as `user` on stdin/stdout. */
  preauthCommand(user: string): string;
  /** Stops Dovecot, waits until it is gone and removes {@linkcode dir}; idempotent. */
  stop(): Promise<void>;
  /**
   * Asks the supervisor to stop Dovecot and remove {@linkcode dir} without waiting: for
   * synchronous contexts such as an `unload` listener.
   */
  signalStop(): void;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
const GREETING = "offlineimap-ts test Dovecot ready.";
const PASSWORD = "test-password";
const SAFE_PATH = /^[A-Za-z0-9_./-]+$/;
const USER_NAME = /^[A-Za-z0-9_.@-]+$/;
/** Dovecot 2.3.19's post-login capability list, less UIDPLUS. */
const CAPABILITIES_WITHOUT_UIDPLUS = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT " +
  "SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL " +
  "CATENATE UNSELECT CHILDREN NAMESPACE LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH " +
  "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY " +
  "PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Starts a fresh Dovecot on two free loopback ports and resolves once both ports greet.
 *
 * @throws {Error} if a binary is missing, or Dovecot does not greet within 10 s; the message
 *   then holds the tail of Dovecot's log.
 */
export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotServer> {
  for (const binary of [DOVECOT_BINARY, DOVEADM_BINARY, IMAP_BINARY]) {
    if (!(await pathExists(binary))) {
      throw new Error(
        `Cannot start Dovecot: "${binary}" is missing (run "bash scripts/ensure_deps.sh")`,
      );
    }
  }
  // Another process may grab a port between our probe and Dovecot's bind: retry then.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortInUseError)) throw error;
    }
  }
}

class PortInUseError extends Error {}

interface Identity {
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  mailUid: number;
  mailGid: number;
}

async function startOnce(options: DovecotOptions): Promise<DovecotServer> {
  const dir = await Deno.makeTempDir({ prefix: "oimap-dovecot-" });
  // Socket paths under base_dir must stay below the 108-byte sun_path limit.
  if (!SAFE_PATH.test(dir) || dir.length > 60) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`Cannot start Dovecot in "${dir}": set TMPDIR to a short plain path`);
  }
  let supervisorPid: number | undefined;
  try {
    const identity = await readIdentity();
    // As root, mail processes run as an unprivileged uid that must reach <dir>/home.
    await Deno.chmod(dir, 0o755);
    for (const sub of ["run", "state", "log", "home", "tls"]) await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chown(`${dir}/home`, identity.mailUid, identity.mailGid);
    const certPem = await makeCertificate(dir);
    const [plainPort, tlsPort] = freePorts(2) as [number, number];
    const configFile = `${dir}/dovecot.conf`;
    await Deno.writeTextFile(
      configFile,
      renderConfig({ dir, plainPort, tlsPort, identity, options }),
    );
    await Deno.writeTextFile(`${dir}/supervise.sh`, SUPERVISOR_SCRIPT);
    supervisorPid = await launchSupervisor(dir);
    const der = pemToDer(certPem);
    const server = new Server({
      dir,
      plainPort,
      tlsPort,
      certPem,
      supervisorPid,
      fingerprintSha256: createHash("sha256").update(der).digest("hex"),
      fingerprintSha1: createHash("sha1").update(der).digest("hex"),
    });
    await waitUntilReady(server, supervisorPid);
    return server;
  } catch (error) {
    if (supervisorPid !== undefined) await stopSupervisor(supervisorPid);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Arguments after `sh supervise.sh`: dir, owner pid, dovecot binary. */
const SUPERVISOR_SCRIPT = `#!/bin/sh
# Supervises one throwaway Dovecot for scripts/dovecot.ts; detached from Deno on purpose.
dir=$1 owner=$2 dovecot=$3
# A zombie counts as dead: a container's PID 1 may never reap orphans.
alive() {
  read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
  case "\${stat##*) }" in Z*|X*) return 1 ;; esac
}
stopping=0
trap 'stopping=1' TERM INT HUP
"$dovecot" -F -c "$dir/dovecot.conf" </dev/null >>"$dir/log/stderr.log" 2>&1 &
child=$!
echo "$child" > "$dir/dovecot.pid.tmp" && mv "$dir/dovecot.pid.tmp" "$dir/dovecot.pid"
while [ "$stopping" = 0 ] && alive "$owner" && alive "$child"; do sleep 0.1; done
kill -TERM "$child" 2>/dev/null
# Dovecot's master stops its own children first; SIGKILL only if it hangs for 10 s.
n=0
while alive "$child" && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
alive "$child" && kill -KILL "$child" 2>/dev/null
wait "$child"
rm -rf "$dir"
`;

async function launchSupervisor(dir: string): Promise<number> {
  // The inner sh is backgrounded with its stdio detached, so this command ends at once and
  // Deno keeps no handle on the supervisor; it still shares our process group, so a Ctrl-C
  // on the test run reaches it too.
  const { code, stdout, stderr } = await new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'sh "$1" "$2" "$3" "$4" </dev/null >/dev/null 2>&1 & echo $!',
      "sh",
      `${dir}/supervise.sh`,
      dir,
      String(Deno.pid),
      DOVECOT_BINARY,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const pid = Number(decoder.decode(stdout).trim());
  if (code !== 0 || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`Cannot launch the Dovecot supervisor: ${decoder.decode(stderr).trim()}`);
  }
  return pid;
}

async function stopSupervisor(pid: number): Promise<void> {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    // Already gone: it exits by itself when Dovecot dies.
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (await isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`Cannot stop the Dovecot supervisor "${pid}"`);
    await delay(20);
  }
}

/** True while `pid` runs; a zombie counts as dead. Linux only (reads /proc). */
async function isAlive(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

async function waitUntilReady(server: Server, supervisorPid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let dovecotPid: number | undefined;
  let lastError = "no attempt made";
  for (const [port, tls] of [[server.plainPort, false], [server.tlsPort, true]] as const) {
    for (;;) {
      dovecotPid ??= await readPid(`${server.dir}/dovecot.pid`);
      const running = await isAlive(supervisorPid) &&
        (dovecotPid === undefined || await isAlive(dovecotPid));
      if (!running || Date.now() > deadline) {
        const log = await tailLog(server.dir);
        if (/Address already in use/.test(log)) throw new PortInUseError(log);
        const why = running ? `no greeting within ${START_TIMEOUT_MS / 1000} s` : "it exited";
        throw new Error(
          `Cannot start Dovecot in "${server.dir}": ${why} (last probe: ${lastError})\n${log}`,
        );
      }
      try {
        await probeGreeting(port, tls, server.certPem, deadline);
        break;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        await delay(20);
      }
    }
  }
}

/** Connects and reads until the real greeting: Dovecot first says it waits for auth. */
async function probeGreeting(
  port: number,
  tls: boolean,
  certPem: string,
  deadline: number,
): Promise<void> {
  const conn = tls
    ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [certPem] })
    : await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), Math.max(deadline - Date.now(), 1));
  let closed = false;
  try {
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes(GREETING)) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`connection on port "${port}" closed before the greeting`);
      text += decoder.decode(buf.subarray(0, n));
    }
  } catch (error) {
    closed = error instanceof Deno.errors.BadResource;
    throw error;
  } finally {
    clearTimeout(timer);
    if (!closed) {
      try {
        conn.close();
      } catch {
        // The timer closed it.
      }
    }
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function tailLog(dir: string, lines = 30): Promise<string> {
  const parts: string[] = [];
  for (const name of ["stderr.log", "dovecot.log"]) {
    const text = await Deno.readTextFile(`${dir}/log/${name}`).catch(() => "");
    const tail = text.trimEnd().split("\n").slice(-lines).join("\n");
    if (tail !== "") parts.push(`--- ${name} (tail) ---\n${tail}`);
  }
  return parts.length === 0 ? "(Dovecot wrote no log)" : parts.join("\n");
}

async function readIdentity(): Promise<Identity> {
  const passwd = await readColonFile("/etc/passwd");
  const groups = await readColonFile("/etc/group");
  const uid = Deno.uid();
  const gid = Deno.gid();
  if (uid === null || gid === null) throw new Error("Cannot start Dovecot: no uid on this OS");
  if (uid === 0) {
    // imap-login refuses to run as root and mail processes refuse uid 0, so as root the
    // login processes run as dovenull (nobody if missing) and mail as nobody.
    const nobody = passwd.find((f) => f[0] === "nobody");
    const login = passwd.find((f) => f[0] === "dovenull") ?? nobody;
    const internal = passwd.find((f) => f[0] === "dovecot");
    const internalGroup = internal && groups.find((f) => f[2] === internal[3]);
    return {
      internalUser: internal?.[0] ?? "root",
      internalGroup: internalGroup?.[0] ?? "root",
      loginUser: login?.[0] ?? "nobody",
      mailUid: Number(nobody?.[2] ?? 65534),
      mailGid: Number(nobody?.[3] ?? 65534),
    };
  }
  // Not root: Dovecot cannot switch users, so every setting must name ourselves.
  const user = passwd.find((f) => f[2] === String(uid))?.[0];
  const group = groups.find((f) => f[2] === String(gid))?.[0];
  if (user === undefined || group === undefined) {
    throw new Error(
      `Cannot start Dovecot as uid "${uid}" gid "${gid}": not in /etc/passwd or /etc/group`,
    );
  }
  return { internalUser: user, internalGroup: group, loginUser: user, mailUid: uid, mailGid: gid };
}

async function readColonFile(path: string): Promise<string[][]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((line) => line !== "").map((line) => line.split(":"));
}

async function makeCertificate(dir: string): Promise<string> {
  const cert = `${dir}/tls/cert.pem`;
  // CA:FALSE: rustls (Deno) refuses a CA certificate used as an end-entity certificate, and a
  // self-signed leaf listed as a trust anchor verifies in both rustls and OpenSSL.
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      ..."req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes".split(" "),
      ...["-keyout", `${dir}/tls/key.pem`, "-out", cert, "-days", "30", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-addext", "keyUsage=critical,digitalSignature"],
      ...["-addext", "extendedKeyUsage=serverAuth"],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output().catch((error: unknown) => {
    throw new Error(`Cannot run "openssl" (run "bash scripts/ensure_deps.sh")`, { cause: error });
  });
  if (code !== 0) {
    throw new Error(`Cannot create the test certificate: ${decoder.decode(stderr).trim()}`);
  }
  return await Deno.readTextFile(cert);
}

function pemToDer(pem: string): Uint8Array {
  const base64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function freePorts(count: number): number[] {
  // All listeners stay open until every port is known, so the kernel hands out distinct ones.
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

function renderConfig(
  { dir, plainPort, tlsPort, identity, options }: {
    dir: string;
    plainPort: number;
    tlsPort: number;
    identity: Identity;
    options: DovecotOptions;
  },
): string {
  const capability = options.uidplus === false
    ? `  imap_capability = ${CAPABILITIES_WITHOUT_UIDPLUS}\n`
    : "";
  return `# Generated by scripts/dovecot.ts for one test run; nothing here reads /etc/dovecot.
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = ${dir.slice(dir.lastIndexOf("/") + 1)}
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
log_path = ${dir}/log/dovecot.log
info_log_path = ${dir}/log/dovecot.log
mail_debug = no
auth_verbose = no

default_internal_user = ${identity.internalUser}
default_internal_group = ${identity.internalGroup}
default_login_user = ${identity.loginUser}
first_valid_uid = 1
first_valid_gid = 0

ssl = yes
ssl_cert = <${dir}/tls/cert.pem
ssl_key = <${dir}/tls/key.pem
login_greeting = ${GREETING}

# LOGIN must work on the plain port too; CRAM-MD5 needs the password in plaintext.
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
auth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@
auth_failure_delay = 0
passdb {
  driver = static
  args = password={PLAIN}${PASSWORD}
}
userdb {
  driver = static
  args = uid=${identity.mailUid} gid=${identity.mailGid} home=${dir}/home/%u
}

mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = .
}
mailbox_idle_check_interval = 1 secs

protocol imap {
  imap_idle_notify_interval = 5 secs
  mail_max_userip_connections = 100
${capability}}

# chroot needs root; without it the same config also works for a normal user.
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${plainPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort}
    ssl = yes
  }
}
# Auth penalty (up to 15 s per failing IP) would slow down every later test on 127.0.0.1.
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
${options.extraConfig ?? ""}
`;
}

interface ServerInit {
  dir: string;
  plainPort: number;
  tlsPort: number;
  certPem: string;
  supervisorPid: number;
  fingerprintSha256: string;
  fingerprintSha1: string;
}

class Server implements DovecotServer {
  readonly host = "127.0.0.1" as const;
  readonly tlsPort: number;
  readonly plainPort: number;
  readonly password = PASSWORD;
  readonly caFile: string;
  readonly certPem: string;
  readonly fingerprintSha256: string;
  readonly fingerprintSha1: string;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly imapBinary = IMAP_BINARY;
  #supervisorPid: number;
  #users = 0;
  #stopping: Promise<void> | undefined;

  constructor(init: ServerInit) {
    this.dir = init.dir;
    this.plainPort = init.plainPort;
    this.tlsPort = init.tlsPort;
    this.certPem = init.certPem;
    this.caFile = `${init.dir}/tls/cert.pem`;
    this.fingerprintSha256 = init.fingerprintSha256;
    this.fingerprintSha1 = init.fingerprintSha1;
    this.configFile = `${init.dir}/dovecot.conf`;
    this.logFile = `${init.dir}/log/dovecot.log`;
    this.#supervisorPid = init.supervisorPid;
  }

  signalStop(): void {
    try {
      Deno.kill(this.#supervisorPid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }

  newUser(prefix = "user"): string {
    if (!USER_NAME.test(prefix)) throw new Error(`Cannot make a user name from "${prefix}"`);
    return `${prefix}-${++this.#users}`;
  }

  async doveadm(args: string[], stdin?: Uint8Array | string): Promise<DoveadmResult> {
    const child = new Deno.Command(DOVEADM_BINARY, {
      args: ["-c", this.configFile, ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Read while writing, so a child that answers a lot cannot block on a full pipe.
    const output = child.output();
    if (stdin !== undefined) await writeAndClose(child.stdin, stdin);
    const { code, stdout, stderr } = await output;
    return { code, stdout, stderr: decoder.decode(stderr) };
  }

  async seed(
    user: string,
    mailbox: string,
    message: Uint8Array | string,
    opts: SeedOptions = {},
  ): Promise<void> {
    const body = typeof message === "string" ? encoder.encode(message) : message;
    const flags = opts.flags ?? [];
    for (const flag of flags) {
      if (!/^\\?[^\s()\\{}%*"\]]+$/.test(flag) || /^\\recent$/i.test(flag)) {
        throw new Error(`Cannot seed flag "${flag}": not a settable IMAP flag`);
      }
    }
    const date = formatInternalDate(opts.internalDate ?? new Date());
    const name = quoteImap(mailbox);
    // One PREAUTH session: CREATE (ALREADYEXISTS is fine), then APPEND with LITERAL+.
    const head = (mailbox.toUpperCase() === "INBOX" ? "" : `s1 CREATE ${name}\r\n`) +
      `s2 APPEND ${name} (${flags.join(" ")}) "${date}" {${body.length}+}\r\n`;
    const input = concat(encoder.encode(head), body, encoder.encode("\r\ns3 LOGOUT\r\n"));
    const output = await this.#runPreauth(user, input);
    const create = /^s1 (OK|NO|BAD)(.*)$/m.exec(output);
    if (create && create[1] !== "OK" && !/\[ALREADYEXISTS\]/.test(create[2] ?? "")) {
      throw new Error(`Cannot create mailbox "${mailbox}" for "${user}":${create[2]}`);
    }
    const append = /^s2 (OK|NO|BAD)(.*)$/m.exec(output);
    if (append?.[1] !== "OK") {
      throw new Error(`Cannot seed a message into "${mailbox}" for "${user}": ${output.trim()}`);
    }
  }

  async createMailbox(user: string, mailbox: string): Promise<void> {
    await this.#doveadmOk(
      `Cannot create mailbox "${mailbox}" for "${user}"`,
      ["mailbox", "create", "-u", user, decodeMailboxName(mailbox)],
    );
  }

  async listMessages(user: string, mailbox: string): Promise<ServerMessage[]> {
    const what = `Cannot list messages of "${mailbox}" for "${user}"`;
    const [status] = await this.#mailboxStatus(what, user, mailbox, "guid messages");
    const guid = status?.get("guid");
    const count = status?.get("messages");
    if (guid === undefined || count === undefined) throw new Error(`${what}: no status`);
    // By GUID, because doveadm's "mailbox" search key treats * and % as wildcards.
    const out = await this.#doveadmOk(what, [
      "fetch",
      "-u",
      user,
      "uid flags size.physical text",
      "mailbox-guid",
      guid,
    ]);
    const messages = parseFetch(out, what);
    if (messages.length !== Number(count)) {
      throw new Error(`${what}: status says ${count} messages, fetch gave ${messages.length}`);
    }
    return messages.sort((a, b) => a.uid - b.uid);
  }

  async listMailboxes(user: string): Promise<string[]> {
    // "mailbox status" skips \Noselect parents, unlike "mailbox list".
    const rows = await this.#mailboxStatus(
      `Cannot list mailboxes for "${user}"`,
      user,
      null,
      "messages",
    );
    return rows.map((row) => encodeMailboxName(row.get("mailbox") ?? "")).sort();
  }

  async setFlags(user: string, mailbox: string, uid: number, flags: string[]): Promise<void> {
    const what = `Cannot set flags of UID "${uid}" in "${mailbox}" for "${user}"`;
    const query = ["mailbox-guid", await this.#guid(what, user, mailbox), "uid", String(uid)];
    await this.#doveadmOk(what, ["flags", "replace", "-u", user, flags.join(" "), ...query]);
  }

  async expunge(user: string, mailbox: string, uid: number): Promise<void> {
    const what = `Cannot expunge UID "${uid}" in "${mailbox}" for "${user}"`;
    const guid = await this.#guid(what, user, mailbox);
    await this.#doveadmOk(what, ["expunge", "-u", user, "mailbox-guid", guid, "uid", String(uid)]);
  }

  async changeUidValidity(user: string, mailbox: string, value: number): Promise<void> {
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw new RangeError(`Cannot set UIDVALIDITY "${value}": not in 1..4294967295`);
    }
    await this.#doveadmOk(
      `Cannot change UIDVALIDITY of "${mailbox}" for "${user}"`,
      [
        "mailbox",
        "update",
        "-u",
        user,
        "--uid-validity",
        String(value),
        decodeMailboxName(mailbox),
      ],
    );
  }

  preauthCommand(user: string): string {
    if (!USER_NAME.test(user)) throw new Error(`Cannot make a PREAUTH command for "${user}"`);
    // Dovecot's imap panics on a regular file as stdin (epoll); callers must give it a pipe.
    return `exec ${IMAP_BINARY} -c ${this.configFile} -u ${user} 2>>${this.dir}/log/preauth.log`;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await stopSupervisor(this.#supervisorPid);
      await Deno.remove(this.dir, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    })();
    return this.#stopping;
  }

  async #guid(what: string, user: string, mailbox: string): Promise<string> {
    const [status] = await this.#mailboxStatus(what, user, mailbox, "guid");
    const guid = status?.get("guid");
    if (!guid) throw new Error(`${what}: doveadm gave no GUID`);
    return guid;
  }

  /** `doveadm -f tab mailbox status`, one map per mailbox keyed by the header's names. */
  async #mailboxStatus(
    what: string,
    user: string,
    mailbox: string | null,
    fields: string,
  ): Promise<Map<string, string>[]> {
    const name = mailbox === null ? "*" : decodeMailboxName(mailbox);
    const out = decoder.decode(
      await this.#doveadmOk(what, ["-f", "tab", "mailbox", "status", "-u", user, fields, name]),
    );
    const [header, ...rows] = out.split("\n").filter((line) => line !== "");
    const keys = header?.split("\t") ?? [];
    return rows.map((row) => new Map(row.split("\t").map((v, i) => [keys[i] ?? "", v])));
  }

  async #doveadmOk(what: string, args: string[]): Promise<Uint8Array> {
    const { code, stdout, stderr } = await this.doveadm(args);
    if (code !== 0) throw new Error(`${what}: doveadm exited with "${code}": ${stderr.trim()}`);
    return stdout;
  }

  async #runPreauth(user: string, input: Uint8Array): Promise<string> {
    if (!USER_NAME.test(user)) throw new Error(`Cannot open a session for user "${user}"`);
    const child = new Deno.Command(IMAP_BINARY, {
      args: ["-c", this.configFile, "-u", user],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    await writeAndClose(child.stdin, input);
    const { stdout, stderr } = await output;
    const text = decoder.decode(stdout);
    if (!text.startsWith("* PREAUTH")) {
      throw new Error(`Cannot open a PREAUTH session for "${user}": ${decoder.decode(stderr)}`);
    }
    return text;
  }
}

async function writeAndClose(
  stream: WritableStream<Uint8Array>,
  data: Uint8Array | string,
): Promise<void> {
  const writer = stream.getWriter();
  // A child that exits before reading everything (EPIPE) shows it in its output and exit code.
  await writer.write(typeof data === "string" ? encoder.encode(data) : data).catch(() => {});
  await writer.close().catch(() => {});
}

/** Parses `doveadm fetch "uid flags size.physical text"` pager output, binary-safe. */
function parseFetch(out: Uint8Array, what: string): ServerMessage[] {
  const messages: ServerMessage[] = [];
  let pos = 0;
  const line = (key: string): string => {
    const end = out.indexOf(0x0a, pos);
    const text = decoder.decode(out.subarray(pos, end < 0 ? out.length : end));
    if (end < 0 || !text.startsWith(`${key}:`)) {
      throw new Error(`${what}: unexpected doveadm output at byte "${pos}": ${text}`);
    }
    pos = end + 1;
    return text.slice(key.length + 1).trim();
  };
  while (pos < out.length) {
    const uid = Number(line("uid"));
    const flags = line("flags").split(" ").filter((f) => f !== "" && f !== "\\Recent");
    const size = Number(line("size.physical"));
    line("text");
    const stored = out.slice(pos, pos + size);
    pos += size;
    // Messages are separated by a form feed line.
    if (pos < out.length) {
      if (out[pos] !== 0x0c || out[pos + 1] !== 0x0a) {
        throw new Error(`${what}: no separator after UID "${uid}" at byte "${pos}"`);
      }
      pos += 2;
    }
    messages.push({ uid, flags, stored, body: toImapView(stored) });
  }
  return messages;
}

/** What Dovecot 2.3 sends for stored bytes in BODY[]: bare LF becomes CRLF, NUL becomes 0x80. */
function toImapView(stored: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    const byte = stored[i]!;
    if (byte === 0x0a && (i === 0 || stored[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(byte === 0 ? 0x80 : byte);
  }
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function quoteImap(name: string): string {
  if (/[\r\n\0]/.test(name)) throw new Error(`Cannot quote mailbox name "${name}"`);
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An IMAP date-time (`23-Nov-2026 10:00:00 +0000`), always in UTC. */
export function formatInternalDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Modified UTF-7 (RFC 3501 §5.1.3) to a plain string, for doveadm's UTF-8 names. */
function decodeMailboxName(name: string): string {
  return name.replace(/&([^-]*)-/g, (_, b64: string) => {
    if (b64 === "") return "&";
    const bytes = atob(b64.replace(/,/g, "/"));
    let out = "";
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      out += String.fromCharCode((bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1));
    }
    return out;
  });
}

/**
 * A plain string to modified UTF-7 (RFC 3501 §5.1.3), for names doveadm prints. Written apart
 * from `imap/mailbox_name.ts` on purpose: the harness is the tests' independent view of the
 * server, so a bug in the client's codec cannot confirm itself.
 */
export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    let bytes = "";
    for (const unit of pending) bytes += String.fromCharCode(unit >> 8, unit & 0xff);
    out += `&${btoa(bytes).replace(/=+$/, "").replace(/\//g, ",")}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e) {
      flush();
      out += unit === 0x26 ? "&-" : name[i];
    } else {
      pending.push(unit);
    }
  }
  flush();
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] !== "start" || args.slice(1).some((a) => a !== "--no-uidplus")) {
    await Deno.stderr.write(
      encoder.encode("usage: deno run -A scripts/dovecot.ts start [--no-uidplus]\n"),
    );
    return 2;
  }
  const started = performance.now();
  const server = await startDovecot({ uidplus: !args.includes("--no-uidplus") });
  const description = {
    host: server.host,
    tlsPort: server.tlsPort,
    plainPort: server.plainPort,
    password: server.password,
    caFile: server.caFile,
    fingerprintSha256: server.fingerprintSha256,
    fingerprintSha1: server.fingerprintSha1,
    dir: server.dir,
    configFile: server.configFile,
    logFile: server.logFile,
    preauthCommand: server.preauthCommand("USER"),
    startMs: Math.round(performance.now() - started),
  };
  await Deno.stdout.write(encoder.encode(`${JSON.stringify(description, null, 2)}\n`));
  const { promise, resolve } = Promise.withResolvers<void>();
  const onSignal = () => resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await promise;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await server.stop();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
