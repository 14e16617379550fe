/**
 * Layout of the metadata directory (`[general] metadata`, default `~/.offlineimap`) as
 * OfflineIMAP 7.x/8.x uses it (formats.md §2). Pure: builds paths, touches nothing (only
 * {@link uniqueTmpPath} draws random numbers).
 *
 * Account and repository names are used verbatim, as OfflineIMAP does (they may hold spaces,
 * `@` or `:`); paths are joined with `/`.
 *
 * @module
 */

/** `<metadata>/Account-<account>`: the account's status caches. */
export function accountDir(metadata: string, account: string): string {
  return `${metadata}/Account-${account}`;
}

/** `<metadata>/Repository-<repository>`: validity files, UID maps and StartUID of a repository. */
export function repositoryDir(metadata: string, repository: string): string {
  return `${metadata}/Repository-${repository}`;
}

/**
 * Path of a folder's sqlite status cache: `Account-<account>/LocalStatus-sqlite/<f>`.
 * `folderName` is the local folder name with its separator replaced by `.` (equivalently the
 * remote translated name with the remote separator replaced by `.`; formats.md §2.1).
 */
export function statusSqlitePath(metadata: string, account: string, folderName: string): string {
  return `${accountDir(metadata, account)}/LocalStatus-sqlite/${folderFileName(folderName)}`;
}

/** Path of a folder's legacy plain-text status cache: `Account-<account>/LocalStatus/<f>`. */
export function statusPlainPath(metadata: string, account: string, folderName: string): string {
  return `${accountDir(metadata, account)}/LocalStatus/${folderFileName(folderName)}`;
}

/**
 * Journal of a folder's plain-text status: `Account-<account>/LocalStatus-journal/<f>`, our own
 * addition (OfflineIMAP never looks there). A directory of its own, because any name beside the
 * status files, such as `<f>.journal`, could be the status file of another folder.
 */
export function statusJournalPath(metadata: string, account: string, folderName: string): string {
  return `${accountDir(metadata, account)}/LocalStatus-journal/${folderFileName(folderName)}`;
}

/**
 * A fresh name beside `path` for writing a file that then replaces `path` by rename:
 * `<dir>/.<file>.<16 hex digits>.tmp`. OfflineIMAP uses `<path>.tmp`, which is the status or
 * validity file of a folder named `<folder>.tmp`; a random part cannot be predicted by a
 * server choosing folder names, and the leading dot keeps debris of a crash out of sight.
 */
export function uniqueTmpPath(path: string): string {
  const slash = path.lastIndexOf("/");
  const random = [...crypto.getRandomValues(new Uint8Array(8))]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${random}.tmp`;
}

/**
 * Path of a folder's saved UIDVALIDITY: `Repository-<repository>/FolderValidity/<f>`. For the
 * remote repository `folderName` is the untranslated server name; for the local one, the local
 * folder name (formats.md §2.1).
 */
export function folderValidityPath(
  metadata: string,
  repository: string,
  folderName: string,
): string {
  return `${repositoryDir(metadata, repository)}/FolderValidity/${folderFileName(folderName)}`;
}

/** `<metadata>/<account>.lock`: the per-account lock file (formats.md §2.7). */
export function lockPath(metadata: string, account: string): string {
  return `${metadata}/${account}.lock`;
}

/**
 * Turns a folder name into the per-folder file name (formats.md §2.1): the empty name becomes
 * `.`, every `/` becomes `.`, and a result of exactly `.` becomes `dot` (so `""` and `"/"`
 * both give `dot`).
 */
export function folderFileName(name: string): string {
  const base = name === "" ? "." : name.replaceAll("/", ".");
  return base === "." ? "dot" : base;
}

/**
 * Groups of folder names that share one per-folder file (`a.b` and `a/b`; the root folder and a
 * folder named `dot`). Two folders sharing a status file corrupt each other's state, so callers
 * refuse to sync the folders of a group. Returns only groups of two or more, in input order.
 */
export function folderFileNameCollisions(names: Iterable<string>): string[][] {
  const byFile = new Map<string, string[]>();
  for (const name of names) {
    const file = folderFileName(name);
    const group = byFile.get(file);
    if (group === undefined) byFile.set(file, [name]);
    else if (!group.includes(name)) group.push(name);
  }
  return [...byFile.values()].filter((group) => group.length > 1);
}
