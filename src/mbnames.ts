/**
 * `[mbnames]`: the file listing every synced local folder for mutt and other readers
 * (config-options.md §5, formats.md §2.8), with OfflineIMAP's per-account caches
 * `<metadata>/mbnames/<account>.json`.
 *
 * The caller decides when: {@link writeAccountMbnames} when an account finishes a sync cycle,
 * then {@link writeMbnamesFile} after that account if `incremental`, else once after all
 * accounts; {@link pruneMbnames} for `--mbnames-prune`. Nothing is written in a dry run.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import type { MbnamesConfig, MbnamesItem } from "./config/types.ts";
import { percentFormatMapping } from "./config/py_expr.ts";

/** Options of the writing functions. */
export interface MbnamesWriteOptions {
  /** `--dry-run`: write nothing (DECISIONS.md #9). */
  readonly dryRun?: boolean;
}

/** `<metadata>/mbnames/<account>.json`. */
export function mbnamesCachePath(metadata: string, account: string): string {
  return `${metadata}/mbnames/${account}.json`;
}

/**
 * Serialises cache items as Python's `json.dump` does by default: `", "` and `": "`
 * separators, non-ASCII characters escaped as `\uXXXX`, keys in OfflineIMAP's order.
 */
export function serializeMbnamesItems(items: readonly MbnamesItem[]): string {
  const str = (s: string) =>
    JSON.stringify(s).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  const objects = items.map((item) =>
    `{"accountname": ${str(item.accountname)}, "foldername": ${str(item.foldername)}, ` +
    `"localfolders": ${str(item.localfolders)}}`
  );
  return `[${objects.join(", ")}]`;
}

/**
 * Parses a cache file. Throws {@link ConfigError} naming the file when it is not a JSON array
 * of `{accountname, foldername, localfolders}` string objects.
 */
export function parseMbnamesItems(text: string, path: string): MbnamesItem[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Cannot read mbnames cache "${path}": ${(error as Error).message}`, {
      cause: error,
      hint: "Delete the file: it is rewritten after the account's next sync",
    });
  }
  const ok = Array.isArray(value) &&
    value.every((item) =>
      typeof item === "object" && item !== null &&
      ["accountname", "foldername", "localfolders"].every((k) => typeof item[k] === "string")
    );
  if (!ok) {
    throw new ConfigError(`Cannot read mbnames cache "${path}": not a list of folders`, {
      hint: "Delete the file: it is rewritten after the account's next sync",
    });
  }
  return (value as MbnamesItem[]).map(({ accountname, foldername, localfolders }) => ({
    accountname,
    foldername,
    localfolders,
  }));
}

/**
 * The mbnames file's text: `header`, then `peritem % item` for every item `folderfilter`
 * accepts, sorted with `sort_keyfunc`, joined with `sep`, then `footer`. Throws
 * {@link ConfigError} when `peritem` is not a valid `%` format for the item.
 */
export function renderMbnames(config: MbnamesConfig, items: readonly MbnamesItem[]): string {
  const listed = items.filter((item) => config.folderFilter(item.accountname, item.foldername));
  listed.sort(config.compare);
  const lines = listed.map((item) => {
    try {
      return percentFormatMapping(config.peritem, { ...item });
    } catch (error) {
      throw new ConfigError(
        `Cannot use option "peritem" in section "mbnames": ${(error as Error).message}`,
        { cause: error, hint: "Use %(accountname)s, %(foldername)s, %(localfolders)s and %%" },
      );
    }
  });
  return config.header + lines.join(config.sep) + config.footer;
}

/**
 * Records the local folders an account synced, in sync order, in its cache file (directory
 * created with mode 0755, as OfflineIMAP). `localFolders` is the account's local root.
 */
export async function writeAccountMbnames(
  metadata: string,
  account: string,
  localFolders: string,
  folders: readonly string[],
  options: MbnamesWriteOptions = {},
): Promise<void> {
  if (options.dryRun) return;
  const items = folders.map((foldername) => ({
    accountname: account,
    foldername,
    localfolders: localFolders,
  }));
  await Deno.mkdir(`${metadata}/mbnames`, { recursive: true, mode: 0o755 });
  const path = mbnamesCachePath(metadata, account);
  await Deno.writeTextFile(`${path}.tmp`, serializeMbnamesItems(items));
  await Deno.rename(`${path}.tmp`, path);
}

/** Every item of every cache file, accounts in file-name order. */
export async function readAllMbnames(metadata: string): Promise<MbnamesItem[]> {
  const dir = `${metadata}/mbnames`;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".json")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const items: MbnamesItem[] = [];
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    items.push(...parseMbnamesItems(await Deno.readTextFile(path), path));
  }
  return items;
}

/**
 * Rewrites the mbnames file from every cache file present (so accounts that are no longer
 * synced linger until `--mbnames-prune`, as in OfflineIMAP). Written in place, UTF-8.
 */
export async function writeMbnamesFile(
  metadata: string,
  config: MbnamesConfig,
  options: MbnamesWriteOptions = {},
): Promise<void> {
  const text = renderMbnames(config, await readAllMbnames(metadata));
  if (options.dryRun) return;
  await Deno.writeTextFile(config.filename, text);
}

/**
 * `--mbnames-prune`: deletes the cache files of accounts not in `accounts` (`[general]
 * accounts`), or all of them when mbnames is disabled (`config` undefined), then rewrites the
 * mbnames file when enabled. Returns the accounts whose cache was (or, in a dry run, would be)
 * deleted.
 */
export async function pruneMbnames(
  metadata: string,
  accounts: readonly string[],
  config: MbnamesConfig | undefined,
  options: MbnamesWriteOptions = {},
): Promise<string[]> {
  const dir = `${metadata}/mbnames`;
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const account = entry.name.slice(0, -5);
      if (config !== undefined && accounts.includes(account)) continue;
      removed.push(account);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  removed.sort();
  if (options.dryRun) return removed;
  for (const account of removed) await Deno.remove(mbnamesCachePath(metadata, account));
  if (config !== undefined) await writeMbnamesFile(metadata, config, options);
  return removed;
}
