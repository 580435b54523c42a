import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
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

/** Reads a YAML or JSON spec file, validates it (every problem by field path) and resolves its relative paths. */
export async function loadSpecFile(path: string): Promise<PipelineSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidSpecError([
      { path: '(file)', message: `cannot read ${path}: ${(error as Error).message}` },
    ]);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidSpecError([
      {
        path: '(file)',
        message: `${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      },
    ]);
  }
  return resolveSpecPaths(parsePipelineSpec(raw), dirname(resolve(path)));
}
