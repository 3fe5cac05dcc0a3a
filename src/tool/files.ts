import fs from "node:fs";
import path from "node:path";
import { fdir } from "fdir";
import ignore, { type Ignore } from "ignore";
import picomatch from "picomatch";

// Dependencies and VCS internals are noise for the model and the slowest part of any walk.
const DEPENDENCY_DIRS = new Set(["node_modules"]);
const VCS_DIRS = new Set([".git", ".hg", ".svn"]);

export interface FileWalkOptions {
  /** The project directory: `.gitignore` files from there down to `root` apply too. */
  base: string;
  signal?: AbortSignal;
  /** Walk into `node_modules` (the pattern or path asked for it). */
  dependencies?: boolean;
}

/**
 * The `.gitignore` files of a tree, read once per directory as the walk enters it; a path is ignored when the
 * rules of any directory above it say so, each rule read relative to its own file, as git does.
 */
class GitIgnores {
  private readonly rulesByDir = new Map<string, Ignore | null>();
  /** For each directory walked: the rules that apply below it, each with the path from its file's directory. */
  private readonly chains = new Map<string, Array<{ rules: Ignore; prefix: string }>>();

  constructor(private readonly base: string) {}

  private rules(dir: string): Ignore | null {
    let rules = this.rulesByDir.get(dir);
    if (rules !== undefined) return rules;
    rules = null;
    try {
      rules = ignore().add(fs.readFileSync(path.join(dir, ".gitignore"), "utf8"));
    } catch {
      // Most directories have no .gitignore.
    }
    this.rulesByDir.set(dir, rules);
    return rules;
  }

  private chain(dir: string): Array<{ rules: Ignore; prefix: string }> {
    let chain = this.chains.get(dir);
    if (chain) return chain;
    const parent = path.dirname(dir);
    const above = dir === this.base || parent === dir ? [] : this.chain(parent);
    const name = path.basename(dir);
    chain = above.map((c) => ({ rules: c.rules, prefix: `${c.prefix}${name}/` }));
    const own = this.rules(dir);
    if (own) chain.push({ rules: own, prefix: "" });
    this.chains.set(dir, chain);
    return chain;
  }

  /** `abs` must be the base or below it. */
  ignored(abs: string, isDirectory: boolean): boolean {
    if (abs === this.base) return false;
    const name = path.basename(abs) + (isDirectory ? "/" : "");
    for (const { rules, prefix } of this.chain(path.dirname(abs))) if (rules.ignores(prefix + name)) return true;
    return false;
  }
}

/**
 * Every file below `root` as a path relative to it ("/"-separated), sorted, without what `.gitignore` excludes,
 * VCS internals, and `node_modules` unless asked. Ignored directories are pruned, not walked and filtered, which
 * is what keeps a search fast in a tree with dependencies. Symlinks are listed but not followed.
 */
export async function listFiles(root: string, options: FileWalkOptions): Promise<string[]> {
  const fromBase = path.relative(options.base, root);
  const inBase = !fromBase.startsWith("..") && !path.isAbsolute(fromBase);
  const ignores = new GitIgnores(inBase ? options.base : root);
  // A root the rules exclude was asked for by name: the rules above it do not apply to it.
  const rules = ignores.ignored(root, true) ? new GitIgnores(root) : ignores;
  const crawler = new fdir()
    .withRelativePaths()
    .exclude((name, dirPath) => {
      if (VCS_DIRS.has(name) || (!options.dependencies && DEPENDENCY_DIRS.has(name))) return true;
      return rules.ignored(dirPath.replace(/[\\/]+$/, ""), true);
    })
    .filter((file, isDirectory) => isDirectory || !rules.ignored(path.join(root, file), false));
  if (options.signal) crawler.withAbortSignal(options.signal);
  const files = await crawler.crawl(root).withPromise();
  options.signal?.throwIfAborted();
  const slashed = path.sep === "/" ? files : files.map((f) => f.split(path.sep).join("/"));
  return slashed.sort();
}

/**
 * A glob matcher for "/"-separated relative paths: `*`, `?`, `**`, `{a,b}`, character classes (`[abc]`, `[!a]`),
 * dot files included. A pattern without "/" matches file names when `basename` is set.
 */
export function globMatcher(glob: string, opts: { basename?: boolean } = {}): (relative: string) => boolean {
  // picomatch reads `[!...]` as a class containing "!"; the shell (and every glob users know) negates with it.
  const posix = glob.replace(/(?<!\\)\[!/g, "[^");
  return picomatch(posix, { dot: true, basename: Boolean(opts.basename) && !glob.includes("/") });
}

/** Whether a pattern or path names node_modules itself, which then is searched. */
export function mentionsDependencies(...texts: Array<string | undefined>): boolean {
  return texts.some((t) => t !== undefined && t.split(/[\\/]/).some((segment) => DEPENDENCY_DIRS.has(segment)));
}
