/**
 * Transport and security against the real Dovecot: implicit TLS and STARTTLS with verified
 * certificates, refusals (untrusted, wrong host name, fingerprint mismatch), fingerprints of
 * every accepted hash, TLS versions, client certificates on both TLS paths, IPv4/IPv6, the
 * preauth and transport tunnels, and credentials refused on a cleartext connection.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dovecot, withDovecot } from "../_helpers/dovecot.ts";
import type { DovecotServer } from "../_helpers/dovecot.ts";
import {
  ImapAuthError,
  ImapClient,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
} from "../../imap/mod.ts";
import type { ClientOptions } from "../../imap/mod.ts";

function der(pem: string): Uint8Array {
  const base64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function fingerprint(pem: string, hash: string): string {
  return createHash(hash).update(der(pem)).digest("hex");
}

/** Connects, logs in as a new user, runs `fn`, logs out. Returns the protocol log. */
async function session(
  server: DovecotServer,
  options: Partial<ClientOptions>,
  fn: (client: ImapClient) => Promise<void> = () => Promise.resolve(),
): Promise<string[]> {
  const log: string[] = [];
  const client = await ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    log: (line) => log.push(line),
    ...options,
  });
  try {
    if (!client.preauthenticated) await client.login(server.newUser("tls"), server.password);
    await fn(client);
  } finally {
    await client.logout();
  }
  return log;
}

async function refusal(promise: Promise<unknown>): Promise<ImapTlsError> {
  const error = await promise.then(() => undefined, (e) => e);
  assert.ok(error instanceof ImapTlsError, `expected ImapTlsError, got ${error}`);
  return error;
}

Deno.test("ImapClient.connect() with STARTTLS verifies the certificate and re-reads capabilities", async () => {
  const server = await dovecot();
  const log = await session(server, {
    port: server.plainPort,
    security: "starttls",
    tls: { ca: server.certPem },
  }, async (client) => {
    assert.equal(client.secure, true);
    assert.ok(client.has("UIDPLUS"));
    await client.select("INBOX");
  });
  const starttls = log.findIndex((l) => /^C: A\d+ STARTTLS$/.test(l));
  const login = log.findIndex((l) => /^C: A\d+ LOGIN/.test(l));
  assert.ok(starttls >= 0 && login > starttls, "credentials only after the upgrade");
  assert.ok(log.slice(starttls).some((l) => /^C: A\d+ CAPABILITY$/.test(l)));
});

Deno.test("ImapClient.connect() with STARTTLS is refused when the certificate does not verify", async () => {
  const server = await dovecot();
  const log: string[] = [];
  const error = await refusal(ImapClient.connect({
    host: server.host,
    port: server.plainPort,
    security: "starttls",
    log: (line) => log.push(line),
  }));
  assert.equal(error.reason, "verify");
  assert.match(error.message, /^Cannot verify certificate of "127\.0\.0\.1:\d+"/);
  assert.ok(!log.some((l) => /^C: .*(LOGIN|AUTHENTICATE)/.test(l)));
});

Deno.test("ImapClient.connect() refuses an untrusted certificate and a wrong host name", async () => {
  const server = await dovecot();
  const untrusted = await refusal(
    ImapClient.connect({ host: server.host, port: server.tlsPort, security: "tls" }),
  );
  assert.equal(untrusted.reason, "verify");
  const renamed = await refusal(ImapClient.connect({
    host: server.host,
    port: server.tlsPort,
    security: "tls",
    tls: { ca: server.certPem, servername: "imap.example.org" },
  }));
  assert.equal(renamed.reason, "hostname");
});

Deno.test("ImapClient.connect() accepts a self-signed certificate pinned by any supported hash", async () => {
  const server = await dovecot();
  for (const hash of ["sha1", "sha224", "sha256", "sha384", "sha512"]) {
    const hex = fingerprint(server.certPem, hash);
    // As users paste them: upper case with colons, or plain lower case.
    const pasted = hex.toUpperCase().match(/../g)!.join(":");
    await session(server, { tls: { fingerprints: ["00".repeat(20), pasted] } });
    await session(server, {
      port: server.plainPort,
      security: "starttls",
      tls: { fingerprints: [hex] },
    }, async (client) => {
      assert.equal(client.secure, true);
      assert.equal((await client.select("INBOX")).exists, 0);
    });
  }
  assert.equal(fingerprint(server.certPem, "sha256"), server.fingerprintSha256);
});

Deno.test("ImapClient.connect() refuses a fingerprint mismatch naming the actual SHA-256", async () => {
  const server = await dovecot();
  for (
    const [port, security] of [[server.tlsPort, "tls"], [server.plainPort, "starttls"]] as const
  ) {
    const error = await refusal(ImapClient.connect({
      host: server.host,
      port,
      security,
      tls: { fingerprints: ["ab".repeat(32)] },
    }));
    assert.equal(error.reason, "fingerprint");
    assert.equal(error.fingerprintSha256, server.fingerprintSha256);
    assert.ok(error.message.includes(server.fingerprintSha256));
  }
});

Deno.test("ImapClient.connect() honours minVersion and maxVersion", async () => {
  const server = await dovecot();
  await session(server, { tls: { ca: server.certPem, minVersion: "TLSv1.3" } });
  await withDovecot(async (strict) => {
    const error = await refusal(ImapClient.connect({
      host: strict.host,
      port: strict.tlsPort,
      security: "tls",
      tls: { ca: strict.certPem, maxVersion: "TLSv1.2" },
    }));
    assert.equal(error.reason, "handshake");
  }, { extraConfig: "ssl_min_protocol = TLSv1.3\n" });
});

Deno.test("ImapClient.connect() refuses a server below minVersion (openssl s_server, TLS 1.2 only)", async () => {
  const server = await dovecot();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command("openssl", {
    args: [
      ..."s_server -quiet -no_tls1_3 -accept".split(" "),
      `127.0.0.1:${port}`,
      ...["-cert", server.caFile, "-key", `${server.dir}/tls/key.pem`],
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let tries = 0;; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const error = await refusal(ImapClient.connect({
      host: "127.0.0.1",
      port,
      security: "tls",
      tls: { ca: server.certPem, minVersion: "TLSv1.3" },
    }));
    assert.equal(error.reason, "handshake");
  } finally {
    child.kill("SIGTERM");
    await child.stdin.close().catch(() => {});
    await child.status;
  }
});

Deno.test("ImapClient.connect() presents a client certificate over native TLS and STARTTLS", async () => {
  const dir = await Deno.makeTempDir({ prefix: "imap-client-cert-" });
  try {
    const openssl = async (args: string) => {
      const { code, stderr } = await new Deno.Command("openssl", {
        args: args.split(" "),
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
    };
    await openssl(
      "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=TestCA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
    );
    await openssl(
      "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr -subj /CN=client",
    );
    await Deno.writeTextFile(
      `${dir}/ext`,
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    );
    await openssl(
      "x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile ext",
    );
    const cert = await Deno.readTextFile(`${dir}/client.pem`);
    const key = await Deno.readTextFile(`${dir}/client.key`);
    await withDovecot(async (server) => {
      await session(server, { tls: { ca: server.certPem, cert, key } });
      await session(server, {
        port: server.plainPort,
        security: "starttls",
        tls: { ca: server.certPem, cert, key },
      });
      const error = await session(server, { tls: { ca: server.certPem } }).catch((e) => e);
      assert.ok(error instanceof ImapAuthError, String(error));
      assert.match(error.message, /certificate/);
    }, {
      extraConfig: `ssl_ca = <${dir}/ca.pem\nssl_verify_client_cert = yes\n` +
        "auth_ssl_require_client_cert = yes\nssl_require_crl = no\n",
    });
    await assert.rejects(
      ImapClient.connect({
        host: "127.0.0.1",
        port: 1,
        security: "tls",
        tls: { cert },
      }),
      TypeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ImapClient.connect() forces IPv4 or IPv6 with family", async () => {
  await withDovecot(async (server) => {
    // /etc/hosts here names only 127.0.0.1 "localhost"; IPv6 is reached by address.
    for (const [host, family] of [["localhost", 4], ["::1", 6]] as const) {
      const ca = { ca: server.certPem, servername: "localhost" };
      for (const tls of [ca, { fingerprints: [server.fingerprintSha256] }]) {
        await session(server, { host, family, tls });
      }
    }
    for (const [host, family] of [["127.0.0.1", 6], ["::1", 4]] as const) {
      const error = await session(server, { host, family }).catch((e) => e);
      assert.ok(error instanceof ImapConnectionError, String(error));
      assert.match(error.message, /over IPv[46]/);
    }
  }, {
    extraConfig: "service imap-login {\n  inet_listener imaps {\n" +
      "    address = 127.0.0.1, ::1\n  }\n}\n",
  });
});

Deno.test("ImapClient.connect() over a preauth tunnel runs Dovecot's imap binary, PREAUTH", async () => {
  const server = await dovecot();
  const user = server.newUser("tunnel");
  await server.seed(user, "INBOX", "Subject: t\r\n\r\nthrough the tunnel\r\n");
  const client = await ImapClient.connect({
    host: "tunnel",
    port: 0,
    security: "plain",
    tunnel: { command: server.preauthCommand(user), kind: "preauth" },
  });
  try {
    assert.equal(client.preauthenticated, true);
    assert.equal(client.secure, true);
    const info = await client.select("INBOX");
    assert.equal(info.exists, 1);
    let text = "";
    for await (const m of client.uidFetchBodies("1:*")) text += await new Response(m.body).text();
    assert.match(text, /through the tunnel/);
  } finally {
    await client.logout();
  }
});

Deno.test("ImapClient.connect() over a transport tunnel (openssl s_client) still authenticates", async () => {
  const server = await dovecot();
  const command = `exec openssl s_client -quiet -connect 127.0.0.1:${server.tlsPort} ` +
    `-CAfile ${server.caFile} -verify_return_error -verify_hostname localhost`;
  const log = await session(server, {
    host: "tunnel",
    port: 0,
    security: "plain",
    tunnel: { command, kind: "transport" },
  }, async (client) => {
    assert.equal(client.preauthenticated, false);
    assert.equal((await client.select("INBOX")).exists, 0);
  });
  assert.ok(log.some((l) => /^C: A\d+ LOGIN/.test(l)));
  // The same command as a preauth tunnel is refused: the greeting is not PREAUTH.
  await assert.rejects(
    ImapClient.connect({
      host: "tunnel",
      port: 0,
      security: "plain",
      tunnel: { command, kind: "preauth" },
    }),
    (error) => error instanceof ImapProtocolError && /instead of PREAUTH/.test(error.message),
  );
});

Deno.test("ImapClient.connect() reports a tunnel that dies with its stderr", async () => {
  const error = await ImapClient.connect({
    host: "tunnel",
    port: 0,
    security: "plain",
    tunnel: { command: "echo 'ssh: host unreachable' >&2; exit 255", kind: "preauth" },
  }).catch((e) => e);
  assert.ok(error instanceof ImapConnectionError, String(error));
  assert.match(error.message, /Exit code 255 .*host unreachable/);
});

Deno.test("ImapClient.login() refuses a cleartext connection unless allowInsecureAuth", async () => {
  const server = await dovecot();
  const log: string[] = [];
  const client = await ImapClient.connect({
    host: server.host,
    port: server.plainPort,
    security: "plain",
    log: (line) => log.push(line),
  });
  try {
    assert.equal(client.secure, false);
    await assert.rejects(client.login("someone", server.password), ImapAuthError);
    await assert.rejects(client.authenticate("PLAIN", new Uint8Array(), () => new Uint8Array()));
    assert.ok(!log.some((l) => /^C: .*(LOGIN|AUTHENTICATE)/.test(l)), "nothing was sent");
  } finally {
    await client.logout();
  }
  await session(server, { port: server.plainPort, security: "plain", allowInsecureAuth: true });
});
