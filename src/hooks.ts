/**
 * `presynchook` and `postsynchook`: shell commands run around each account sync. Their exit
 * status is reported and never changes what happens (OfflineIMAP's rule).
 *
 * @module
 */

/** What a hook did. */
export interface HookResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` with `/bin/sh -c`, stdin closed, with the variables of both OfflineIMAP
 * generations set (`OIMAP_ACCOUNT_NAME`, `OIMAP_HOOK_NAME`, `OFFLINEIMAPSYNCMODE`).
 */
export async function runHook(
  command: string,
  name: "presynchook" | "postsynchook",
  account: string,
  mode: "quick" | "full",
): Promise<HookResult> {
  const output = await new Deno.Command("/bin/sh", {
    args: ["-c", command],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { OIMAP_ACCOUNT_NAME: account, OIMAP_HOOK_NAME: name, OFFLINEIMAPSYNCMODE: mode },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
