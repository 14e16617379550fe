/**
 * The one place where Python-valued options (`nametrans`, `folderfilter`, `remotepasseval`, ...,
 * python-expressions.md §1.1) are turned into callables, through the interpreter of
 * `py_expr.ts`. `schema.ts` only calls the functions here, with the site (option, section,
 * line) for messages and the {@link ExpressionContext} (the `pythonfile` and the hooks to the
 * outside world).
 *
 * Callables used synchronously by the engine (`nametrans`, `folderfilter`, `foldersort`,
 * `copy_ignore_eval`, the `[mbnames]` ones) are evaluated once here; the `*eval` options are
 * parsed here (a syntax error stops the program) and evaluated each time they are called.
 *
 * @module
 */

import { pyStrip } from "./ini.ts";
import * as py from "./py_expr.ts";
import type { ExpressionHooks, ExpressionSite as PySite } from "./py_expr.ts";
import { PythonFile, readFileForPython, runCommand, runCommandSync } from "./pythonfile.ts";
import type { MbnamesItem } from "./types.ts";

export type { ExpressionHooks } from "./py_expr.ts";

/** Where an expression option was found, for error messages. */
export interface ExpressionSite {
  /** Option name, lower case. */
  readonly option: string;
  /** Section that was read (`Repository <name>`). */
  readonly section: string;
  /** Section the text was written in (the same, or `DEFAULT`). */
  readonly writtenIn: string;
  /** Configuration file. */
  readonly path: string;
  /** Line of the option, or undefined when set with `-k`. */
  readonly line?: number;
}

/** What every expression may see besides its own text. */
export interface ExpressionContext {
  /** `[general] pythonfile`, absolute, when set: its globals are visible to every expression. */
  readonly pythonFile?: string;
  /**
   * The outside world (environment, files, commands, the `pythonfile` bridge); without it,
   * {@link processHooks} of this process without a `pythonfile`.
   */
  readonly hooks?: ExpressionHooks;
}

/** `nametrans`: untranslated name → name on the other side. */
export function compileNametrans(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (name: string) => string {
  return py.compileNametrans(source, pySite(site), hooksOf(ctx));
}

/** `folderfilter` (repository): untranslated name → sync it (Python truthiness). */
export function compileFolderFilter(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (name: string) => boolean {
  return py.compileFolderFilter(source, pySite(site), hooksOf(ctx));
}

/** `foldersort`: old-style `cmp` function over translated names (negative, 0, positive). */
export function compileFolderSort(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (a: string, b: string) => number {
  return py.compileFolderSort(source, pySite(site), hooksOf(ctx));
}

/** `folderincludes`, `idlefolders`: a list of str (`[]` needs no interpreter). */
export function evaluateStringList(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): string[] {
  if (/^\[\s*\]$/.test(pyStrip(source))) return [];
  return py.evaluateStringList(source, pySite(site), hooksOf(ctx));
}

/** `copy_ignore_eval`: translated folder name → UIDs never copied out of it (`None` → []). */
export function compileCopyIgnore(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (folder: string) => readonly number[] {
  return py.compileCopyIgnore(source, pySite(site), hooksOf(ctx));
}

/**
 * `newmail_hook`: evaluated now (it must give a callable, such as a `lambda:`); each call of the
 * result calls it, with `os.system` and `pythonfile` functions available. The return value is
 * ignored.
 */
export function compileNewmailHook(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): () => Promise<void> {
  return py.compileNewmailHook(source, pySite(site), hooksOf(ctx));
}

/**
 * `remotehosteval`, `remoteusereval`, `remotepasseval`: a str evaluated each time it is needed
 * (bytes decoded as UTF-8). Compiling checks the syntax at once so a typo fails before any
 * connection.
 */
export function compileStringEval(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): () => Promise<string> {
  return py.compileStringEval(source, pySite(site), hooksOf(ctx));
}

/** `oauth2_*_eval`: like {@link compileStringEval}; `None` gives undefined, newlines stripped. */
export function compileOAuth2Eval(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): () => Promise<string | undefined> {
  return py.compileEvalOAuth2(source, pySite(site), hooksOf(ctx));
}

/** `remoteporteval`: an int evaluated each time a connection is opened. */
export function compileIntEval(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): () => Promise<number> {
  return py.compileIntEval(source, pySite(site), hooksOf(ctx));
}

/** `[mbnames] header`, `sep`, `footer`: a str evaluated once at start-up. */
export function evaluateString(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): string {
  return py.evaluateString(source, pySite(site), hooksOf(ctx));
}

/** `[mbnames] folderfilter`: (account name, local folder name) → list it. */
export function compileMbnamesFilter(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (account: string, folder: string) => boolean {
  return py.compileMbnamesFilter(source, pySite(site), hooksOf(ctx));
}

/** `[mbnames] sort_keyfunc`: item → key, as a comparison of two items by Python ordering. */
export function compileMbnamesSortKey(
  source: string,
  site: ExpressionSite,
  ctx: ExpressionContext,
): (a: MbnamesItem, b: MbnamesItem) => number {
  return py.compileMbnamesSortKey(source, pySite(site), hooksOf(ctx));
}

/** Hooks with a `pythonfile` bridge, and the way to end its `python3` child. */
export interface ProcessHooks {
  readonly hooks: ExpressionHooks;
  /** Ends the `pythonfile` child if one was started; idempotent. */
  close(): Promise<void>;
}

/**
 * The real outside world of `pythonfile.ts` (files, commands, and the `pythonfile` run by a
 * `python3` child started on first use), with `env` as the environment (`os.environ`, `~`).
 */
export function processHooks(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  warn?: (message: string) => void,
  pythonFile?: string,
): ProcessHooks {
  const python = pythonFile === undefined ? undefined : new PythonFile(pythonFile);
  return {
    hooks: {
      env: (name) => env[name],
      homeDir: () => env.HOME,
      readFile: readFileForPython,
      runCommand,
      runCommandSync,
      ...(python === undefined ? {} : { python }),
      warn,
    },
    close: () => python?.close() ?? Promise.resolve(),
  };
}

let defaultHooks: ExpressionHooks | undefined;

function hooksOf(ctx: ExpressionContext): ExpressionHooks {
  // Without a pythonfile nothing needs closing (schema.ts always passes hooks).
  defaultHooks ??= processHooks().hooks;
  return ctx.hooks ?? defaultHooks;
}

function pySite(site: ExpressionSite): PySite {
  return {
    option: site.option,
    // Named as written, so an expression inherited from [DEFAULT] is found where it is.
    section: site.writtenIn,
    where: site.line === undefined
      ? "the command line (-k)"
      : `line ${site.line} of "${site.path}"`,
  };
}
