import { createHash } from 'node:crypto';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidSpecError, parsePipelineSpec, type PipelineSpec } from '../domain/pipeline-spec.js';

/** JSON with object keys sorted, so equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 of the spec's canonical JSON: recorded in every version's lineage. */
export function specHash(spec: PipelineSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

/**
 * Makes a spec file's relative dataset path absolute against `baseDir` (the spec file's folder), so a spec and its
 * data can sit side by side. A spec that is not a file (an API body, JSON typed in the Temporal UI) keeps its
 * relative path, which the worker looks up in its data roots.
 */
export function resolveSpecPaths(spec: PipelineSpec, baseDir: string): PipelineSpec {
  const source = spec.dataset.source;
  const isUri = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  return {
    ...spec,
    dataset: { ...spec.dataset, source: isUri || isAbsolute(source) ? source : resolve(baseDir, source) },
  };
}

/**
 * Reads a YAML or JSON document (`.json` as JSON, anything else as YAML); a file that can't be read or parsed is
 * reported through `fail`, which makes the caller's error type.
 */
export async function readDocument(path: string, fail: (message: string) => Error): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fail(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw fail(
      `${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}

/** Reads a YAML or JSON spec file, validates it (every problem by field path) and resolves its relative paths. */
export async function loadSpecFile(path: string): Promise<PipelineSpec> {
  const raw = await readDocument(path, (message) => new InvalidSpecError([{ path: '(file)', message }]));
  return resolveSpecPaths(parsePipelineSpec(raw), dirname(resolve(path)));
}

/** Largest spec file a worker reads. */
export const maxSpecFileBytes = 1024 * 1024;

/** True when the real path `path` is `root` or inside it (both real paths). */
export function isUnderRoot(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/**
 * Reads a spec file for a worker, only from under `roots` (real paths): a relative `specPath` resolves against
 * `baseDir`, symlinks are resolved before the check, and the bytes come from the handle that was checked (its
 * device and inode must be the resolved path's), so a path swapped between check and read is refused. Returns the
 * file's real path and its parsed document (not yet validated: see {@link parseSpecDocument}). Throws
 * InvalidSpecError naming `specPath` and the reason.
 */
export async function readSpecDocumentUnder(
  specPath: string,
  options: { roots: readonly string[]; baseDir: string },
): Promise<{ path: string; document: unknown }> {
  const problem = (message: string) => new InvalidSpecError([{ path: 'specPath', message }]);
  if (!/\.(ya?ml|json)$/i.test(specPath)) throw problem(`${specPath}: expected a .yaml, .yml or .json file`);
  if (options.roots.length === 0) {
    throw problem('this worker reads no spec files (it has no spec roots): send the spec itself as "spec"');
  }
  const candidate = resolve(options.baseDir, specPath);
  const outside = () =>
    problem(`${specPath}: spec files are read only from under ${options.roots.join(', ')} on the worker`);
  let handle;
  try {
    handle = await open(candidate, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw problem(`${specPath}: no such file on the worker`);
    if (code === 'EACCES' || code === 'EPERM') throw problem(`${specPath}: the worker may not read it`);
    throw error;
  }
  let text: string;
  let real: string;
  try {
    real = await realpath(candidate).catch(() => '');
    if (!real || !options.roots.some((root) => isUnderRoot(real, root))) throw outside();
    const [opened, named] = await Promise.all([handle.stat(), stat(real)]);
    if (opened.dev !== named.dev || opened.ino !== named.ino) throw outside();
    if (!opened.isFile()) throw problem(`${specPath}: not a regular file`);
    if (opened.size > maxSpecFileBytes) {
      throw problem(
        `${specPath}: ${opened.size} bytes, more than the ${maxSpecFileBytes} a spec file may have`,
      );
    }
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  const json = /\.json$/i.test(real);
  let document: unknown;
  try {
    document = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw problem(`${specPath} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  return { path: real, document };
}

/** Validates a spec file's document and makes its relative paths absolute against the file's folder. */
export function parseSpecDocument(document: unknown, file: string): PipelineSpec {
  return resolveSpecPaths(parsePipelineSpec(document), dirname(file));
}
