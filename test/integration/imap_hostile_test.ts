/**
 * ImapClient against a scripted fake server, for behaviour no real server shows: plaintext
 * injected after STARTTLS, PREAUTH where STARTTLS was required, literals and lines over the
 * limits, BYE or a cut connection in the middle of a FETCH, truncated literals, silence
 * (timeouts), protocol violations, and the exact bytes of SASL payloads and UTF8=ACCEPT names.
 */

import assert from "node:assert/strict";
import { withFakeServer } from "../_helpers/fake_server.ts";
import type { ScriptedConnection } from "../_helpers/fake_server.ts";
import {
  authenticateWith,
  encodeMailboxName,
  ImapByeError,
  ImapClient,
  ImapCommandError,
  ImapConnectionError,
  ImapProtocolError,
  ImapTlsError,
} from "../../imap/mod.ts";
import type { ClientOptions, Response } from "../../imap/mod.ts";

const DEC = new TextDecoder();
const GREETING = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n";

function options(port: number, extra: Partial<ClientOptions> = {}): ClientOptions {
  return { host: "127.0.0.1", port, security: "plain", allowInsecureAuth: true, ...extra };
}

/** Greets, answers LOGIN, and SELECTs INBOX with one message. */
async function loggedIn(s: ScriptedConnection): Promise<void> {
  await s.send(GREETING);
  const login = await s.command(/^LOGIN /);
  await s.send(`${login} OK [CAPABILITY IMAP4rev1 UIDPLUS] done\r\n`);
}

Deno.test("fake server: plaintext injected after the STARTTLS OK is refused, never parsed", async () => {
  for (const pinned of [false, true]) {
    const unsolicited: Response[] = [];
    const log: string[] = [];
    const error = await withFakeServer(async (s) => {
      await s.send("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
      const tag = await s.command(/^STARTTLS$/);
      await s.send(`${tag} OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n`);
      await s.clientClosed();
    }, (port) =>
      ImapClient.connect(options(port, {
        security: "starttls",
        // Pinning routes the connection through node:tls, the other transport.
        tls: pinned ? { fingerprints: ["00".repeat(32)] } : {},
        onUnsolicited: (r) => unsolicited.push(r),
        log: (line) => log.push(line),
      })).then(() => undefined, (e) => e));
    assert.ok(error instanceof ImapTlsError, String(error));
    assert.equal(error.reason, "starttls");
    assert.match(error.message, /plaintext data after its OK/);
    assert.deepEqual(unsolicited, []);
    assert.ok(!log.some((l) => l.includes("injected")));
  }
});

Deno.test("fake server: plaintext arriving after the STARTTLS upgrade began breaks the handshake", async () => {
  const error = await withFakeServer(
    async (s) => {
      await s.send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
      const tag = await s.command(/^STARTTLS$/);
      await s.send(`${tag} OK Begin TLS\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await s.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n");
      await s.clientClosed();
    },
    (port) =>
      ImapClient.connect(options(port, { security: "starttls" })).then(() => undefined, (e) => e),
  );
  assert.ok(error instanceof ImapTlsError, String(error));
});

Deno.test("fake server: a PREAUTH greeting is refused when STARTTLS was required", async () => {
  const error = await withFakeServer(
    async (s) => {
      await s.send("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome back\r\n");
      await s.clientClosed();
    },
    (port) =>
      ImapClient.connect(options(port, { security: "starttls" })).then(() => undefined, (e) => e),
  );
  assert.ok(error instanceof ImapTlsError);
  assert.equal(error.reason, "starttls");
  assert.match(error.message, /greeted with PREAUTH/);
});

Deno.test("fake server: a server without STARTTLS is refused when STARTTLS was required", async () => {
  const error = await withFakeServer(
    async (s) => {
      await s.send(GREETING);
      await s.clientClosed();
    },
    (port) =>
      ImapClient.connect(options(port, { security: "starttls" })).then(() => undefined, (e) => e),
  );
  assert.ok(error instanceof ImapTlsError);
  assert.match(error.message, /does not offer STARTTLS/);
});

Deno.test("fake server: a literal over the limit ends the connection with a clear error", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    const tag = await s.command(/^UID FETCH 1 /);
    await s.send(`* 1 FETCH (UID 1 BODY[HEADER] {5000000}\r\n${"x".repeat(1000)}`);
    await s.clientClosed();
    void tag;
  }, async (port) => {
    const client = await ImapClient.connect(
      options(port, { limits: { maxBufferedLiteral: 4096 } }),
    );
    try {
      await client.login("u", "p");
      const error = await client.uidFetch("1", ["BODY.PEEK[HEADER]"]).catch((e) => e);
      assert.ok(error instanceof ImapProtocolError, String(error));
      assert.match(error.message, /Literal of 5000000 bytes exceeds the limit of 4096 bytes/);
      await assert.rejects(client.noop(), ImapProtocolError);
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: a line over the limit ends the connection with a clear error", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    await s.command(/^UID SEARCH ALL$/);
    await s.send(`* SEARCH ${"1 ".repeat(100_000)}`);
    await s.clientClosed();
  }, async (port) => {
    const client = await ImapClient.connect(options(port, { limits: { maxLineLength: 10_000 } }));
    try {
      await client.login("u", "p");
      await assert.rejects(
        client.uidSearch([{ atom: "ALL" }]),
        (e) => e instanceof ImapProtocolError && /longer than 10000 bytes/.test(e.message),
      );
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: BYE in the middle of a FETCH fails the fetch with ImapByeError", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    await s.command(/^UID FETCH 1:\* /);
    await s.send("* 1 FETCH (UID 1 FLAGS () BODY[] {5}\r\nhello)\r\n");
    await s.send("* BYE [UNAVAILABLE] server shutting down\r\n");
    s.close();
  }, async (port) => {
    const client = await ImapClient.connect(options(port));
    try {
      await client.login("u", "p");
      const bodies: string[] = [];
      const error = await (async () => {
        for await (const m of client.uidFetchBodies("1:*")) {
          bodies.push(await new Response(m.body).text());
        }
      })().catch((e) => e);
      assert.deepEqual(bodies, ["hello"]);
      assert.ok(error instanceof ImapByeError, String(error));
      assert.equal(error.code, "UNAVAILABLE");
      assert.match(error.message, /server shutting down/);
      await assert.rejects(client.noop(), ImapConnectionError);
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: a connection cut inside a streamed body errors that body", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    await s.command(/^UID FETCH 1:\* /);
    await s.send(`* 1 FETCH (UID 7 BODY[] {100000}\r\n${"y".repeat(30_000)}`);
    s.close();
  }, async (port) => {
    const client = await ImapClient.connect(options(port));
    try {
      await client.login("u", "p");
      let bodyError: unknown;
      const error = await (async () => {
        for await (const m of client.uidFetchBodies("1:*")) {
          assert.equal(m.uid, 7);
          assert.equal(m.size, 100_000);
          bodyError = await new Response(m.body).arrayBuffer().catch((e) => e);
        }
      })().catch((e) => e);
      assert.ok(bodyError instanceof ImapConnectionError, String(bodyError));
      assert.match(String(bodyError), /in the middle of a response/);
      assert.ok(error instanceof ImapConnectionError);
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: a truncated literal fails the pending command with a connection error", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    await s.command(/^UID FETCH 1 /);
    await s.send("* 1 FETCH (UID 1 BODY[HEADER] {100}\r\nSubject: cut");
    s.close();
  }, async (port) => {
    const client = await ImapClient.connect(options(port));
    try {
      await client.login("u", "p");
      await assert.rejects(
        client.uidFetch("1", ["BODY.PEEK[HEADER]"]),
        (e) => e instanceof ImapConnectionError && /in the middle of a response/.test(e.message),
      );
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: a silent server times out the greeting, a command and TLS, on both paths", async () => {
  for (const nodePath of [false, true]) {
    const tls = nodePath ? { minVersion: "TLSv1.2" as const } : {};
    const greeting = await withFakeServer(
      (s) => s.clientClosed(),
      (port) =>
        ImapClient.connect(options(port, { timeoutMs: 200, tls })).then(() => undefined, (e) => e),
    );
    assert.ok(greeting instanceof ImapConnectionError, String(greeting));
    assert.match(greeting.message, /timed out after 0\.2 s/);
    await withFakeServer(async (s) => {
      await loggedIn(s);
      await s.command(/^NOOP$/);
      await s.clientClosed();
    }, async (port) => {
      const client = await ImapClient.connect(options(port, { timeoutMs: 200, tls }));
      try {
        await client.login("u", "p");
        // Idle between commands for longer than the timeout: nothing is due, nothing fails.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await assert.rejects(
          client.noop(),
          (e) => e instanceof ImapConnectionError && /timed out/.test(e.message),
        );
      } finally {
        await client.logout();
      }
    });
    // The server hangs up only after the client gave up: Deno keeps the socket of a TLS
    // handshake that was cancelled until the peer closes it.
    let gaveUp!: () => void;
    const settled = new Promise<void>((resolve) => gaveUp = resolve);
    const handshake = await withFakeServer(
      () => settled,
      (port) =>
        ImapClient.connect({
          host: "127.0.0.1",
          port,
          security: "tls",
          timeoutMs: 200,
          tls: nodePath ? { fingerprints: ["00".repeat(32)] } : {},
        }).then(() => undefined, (e) => e).finally(gaveUp),
    );
    assert.ok(handshake instanceof ImapConnectionError, String(handshake));
    assert.match(handshake.message, /TLS handshake with "127\.0\.0\.1:\d+" timed out/);
  }
});

Deno.test("fake server: an unknown tag or a stray continuation is a protocol error", async () => {
  for (const reply of ["Z99 OK who?\r\n", "+ go ahead\r\n"]) {
    await withFakeServer(async (s) => {
      await loggedIn(s);
      await s.command(/^NOOP$/);
      await s.send(reply);
      await s.clientClosed();
    }, async (port) => {
      const client = await ImapClient.connect(options(port));
      try {
        await client.login("u", "p");
        await assert.rejects(client.noop(), ImapProtocolError);
      } finally {
        await client.logout();
      }
    });
  }
});

Deno.test("fake server: a greeting that is not IMAP is refused", async () => {
  for (const greeting of ["SSH-2.0-OpenSSH_9.6\r\n", "* NO go away\r\n", "* BYE full\r\n"]) {
    const error = await withFakeServer(async (s) => {
      await s.send(greeting);
      await s.clientClosed();
    }, (port) => ImapClient.connect(options(port)).then(() => undefined, (e) => e));
    assert.ok(
      error instanceof ImapProtocolError || error instanceof ImapByeError,
      `${greeting}: ${error}`,
    );
  }
});

Deno.test("fake server: AUTHENTICATE sends PLAIN with authzid and XOAUTH2 byte for byte", async () => {
  const seen: string[] = [];
  await withFakeServer(async (s) => {
    await s.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2] ready\r\n");
    for (let i = 0; i < 2; i++) {
      const tag = await s.command(/^AUTHENTICATE (PLAIN|XOAUTH2)$/);
      await s.send("+ \r\n");
      seen.push(DEC.decode(Uint8Array.from(atob(await s.line()), (c) => c.charCodeAt(0))));
      await s.send(i === 0 ? `${tag} NO [AUTHENTICATIONFAILED] try again\r\n` : `${tag} OK in\r\n`);
    }
    const tag = await s.command(/^CAPABILITY$/);
    await s.send(`* CAPABILITY IMAP4rev1\r\n${tag} OK\r\n`);
    await s.command(/^LOGOUT$/);
  }, async (port) => {
    const client = await ImapClient.connect(options(port));
    try {
      const used = await authenticateWith(client, ["PLAIN", "XOAUTH2"], {
        user: "me@example.org",
        password: "pw",
        authzid: "boss",
        accessToken: "ya29.token",
      });
      assert.equal(used, "XOAUTH2");
    } finally {
      await client.logout();
    }
  });
  assert.deepEqual(seen, [
    "boss\0me@example.org\0pw",
    "user=me@example.org\x01auth=Bearer ya29.token\x01\x01",
  ]);
});

Deno.test("fake server: after ENABLE UTF8=ACCEPT names go out and come back as UTF-8", async () => {
  await withFakeServer(async (s) => {
    await s.send(GREETING);
    const login = await s.command(/^LOGIN /);
    await s.send(`${login} OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] in\r\n`);
    const enable = await s.command(/^ENABLE UTF8=ACCEPT$/);
    await s.send(`* ENABLED UTF8=ACCEPT\r\n${enable} OK\r\n`);
    const create = await s.command(/^CREATE "Gäste"$/);
    await s.send(`${create} OK\r\n`);
    const list = await s.command(/^LIST "" "\*"$/);
    await s.send(`* LIST () "/" "Gäste"\r\n${list} OK\r\n`);
    await s.command(/^LOGOUT$/);
  }, async (port) => {
    const client = await ImapClient.connect(options(port));
    try {
      await client.login("u", "p");
      await client.enable("UTF8=ACCEPT");
      assert.equal(client.utf8, true);
      await client.create("Gäste");
      assert.deepEqual((await client.list("", "*")).map((e) => e.name), ["Gäste"]);
      assert.equal(encodeMailboxName("Gäste"), "G&AOQ-ste", "the form to use without UTF8");
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: a NO instead of the literal's continuation fails only that command", async () => {
  await withFakeServer(async (s) => {
    await loggedIn(s);
    const tag = await s.command(/^APPEND INBOX \{5\}$/);
    await s.send(`${tag} NO [OVERQUOTA] mailbox full\r\n`);
    const noop = await s.command(/^NOOP$/);
    await s.send(`* OK [ALERT] quota nearly reached\r\n${noop} OK\r\n`);
    await s.command(/^LOGOUT$/);
  }, async (port) => {
    const alerts: string[] = [];
    const client = await ImapClient.connect(options(port, {
      onUnsolicited: (r) => {
        if (r.kind === "status" && r.code?.name === "ALERT") alerts.push(r.text);
      },
    }));
    try {
      await client.login("u", "p");
      const bytes = new TextEncoder().encode("hello");
      const error = await client.append("INBOX", {
        size: 5,
        open: () => new Blob([bytes]).stream(),
      }).catch((e) => e);
      assert.ok(error instanceof ImapCommandError);
      assert.equal(error.code, "OVERQUOTA");
      await client.noop();
      assert.deepEqual(alerts, ["quota nearly reached"]);
    } finally {
      await client.logout();
    }
  });
});

Deno.test("fake server: random responses end a command only in a result or an IMAP error", async () => {
  let state = 1;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const tokens = [
    "* ",
    "A2 ",
    "OK ",
    "NO ",
    "FETCH ",
    "1 ",
    "EXISTS",
    "(",
    ")",
    "[",
    "]",
    "{5}\r\n",
    "{999999999}\r\n",
    '"',
    "\\",
    " ",
    "\r\n",
    "+ ",
    "BYE ",
    "UID 4 ",
    "BODY[] ",
    "\xff",
    "\0",
  ];
  for (let round = 0; round < 150; round++) {
    let noise = "";
    for (let i = 0; i < 40; i++) noise += tokens[Math.floor(random() * tokens.length)];
    await withFakeServer(async (s) => {
      await s.send(GREETING);
      await s.command(/^NOOP$/);
      await s.send(Uint8Array.from(noise, (c) => c.charCodeAt(0) & 0xff));
      s.close();
    }, async (port) => {
      const client = await ImapClient.connect(
        options(port, { limits: { maxBufferedLiteral: 1000 } }),
      );
      try {
        const outcome = await client.noop().then(() => "ok", (e) => e);
        assert.ok(
          outcome === "ok" || outcome instanceof ImapCommandError ||
            outcome instanceof ImapProtocolError || outcome instanceof ImapConnectionError,
          `round ${round}: ${outcome?.stack ?? outcome}\n${JSON.stringify(noise)}`,
        );
      } finally {
        await client.logout();
      }
    });
  }
});
