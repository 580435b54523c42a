import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  assembleLifecycleSpec,
  InvalidLifecycleSpecError,
  parseInlinePipeline,
  parseLifecycleDocument,
  type LifecycleSpec,
} from '../domain/lifecycle-spec.js';
import { InvalidSpecError, type SpecProblem } from '../domain/pipeline-spec.js';
import {
  builtInRolloutDefaults,
  InvalidRolloutError,
  resolveRolloutPlan,
  rolloutPlanSpecSchema,
  type RolloutDefaults,
} from '../domain/rollout-plan.js';
import {
  builtInMonitorDefaults,
  InvalidMonitorError,
  monitorPolicySpecSchema,
  resolveMonitorPolicy,
  type MonitorDefaults,
} from '../domain/monitor-policy.js';
import { loadSpecFile, resolveSpecPaths } from './spec-file.js';

/** The worker's defaults for what a spec leaves unset, so its cross-field rules are checked as they will run. */
export interface LifecycleDefaults {
  readonly rollout?: RolloutDefaults;
  readonly monitor?: MonitorDefaults;
}

async function readDocument(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidLifecycleSpecError([
      { path: '(file)', message: `cannot read ${path}: ${(error as Error).message}` },
    ]);
  }
  const json = /\.json$/i.test(path);
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidLifecycleSpecError([
      {
        path: '(file)',
        message: `${path} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      },
    ]);
  }
}

/**
 * Validates a lifecycle spec document and resolves it: the pipeline spec (inline, or a file relative to `baseDir`)
 * with its paths made absolute, the rollout plan checked as the rollout workflow will check it, and the policy's
 * cross-field rules. Throws InvalidLifecycleSpecError listing every problem by field path (a bad pipeline file's
 * problems under `pipeline.`).
 */
export async function resolveLifecycleDocument(
  raw: unknown,
  baseDir: string,
  defaults: LifecycleDefaults = {},
): Promise<LifecycleSpec> {
  const problems: SpecProblem[] = [];
  let doc;
  try {
    doc = parseLifecycleDocument(raw);
  } catch (error) {
    if (!(error instanceof InvalidLifecycleSpecError)) throw error;
    problems.push(...error.problems);
  }
  // Keep looking for problems in the parts that did parse, so one round trip shows them all.
  const rawPipeline = (raw as { pipeline?: unknown } | null)?.pipeline;
  let pipeline;
  try {
    if (typeof rawPipeline === 'string') {
      const path = isAbsolute(rawPipeline) ? rawPipeline : resolve(baseDir, rawPipeline);
      pipeline = await loadSpecFile(path);
    } else if (rawPipeline && typeof rawPipeline === 'object') {
      pipeline = resolveSpecPaths(parseInlinePipeline(rawPipeline), baseDir);
    }
  } catch (error) {
    if (error instanceof InvalidSpecError || error instanceof InvalidLifecycleSpecError) {
      problems.push(
        ...error.problems.map((p) => ({
          path: p.path.startsWith('pipeline') ? p.path : `pipeline.${p.path}`,
          message: p.message,
        })),
      );
    } else throw error;
  }
  // The rollout plan's own cross-field rules, whenever the plan itself parses (whatever else is wrong).
  const rollout = rolloutPlanSpecSchema.safeParse((raw as { rollout?: unknown } | null)?.rollout ?? {});
  if (rollout.success) {
    try {
      resolveRolloutPlan(rollout.data, defaults.rollout ?? builtInRolloutDefaults, 'rollout');
    } catch (error) {
      if (error instanceof InvalidRolloutError) problems.push(...error.problems);
      else throw error;
    }
  }
  // And the monitor policy's, likewise.
  const monitor = monitorPolicySpecSchema.safeParse((raw as { monitor?: unknown } | null)?.monitor ?? {});
  if (monitor.success) {
    try {
      resolveMonitorPolicy(monitor.data, defaults.monitor ?? builtInMonitorDefaults, 'monitor');
    } catch (error) {
      if (error instanceof InvalidMonitorError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (doc && pipeline) {
    try {
      if (problems.length === 0) return assembleLifecycleSpec(doc, pipeline);
      assembleLifecycleSpec(doc, pipeline);
    } catch (error) {
      if (error instanceof InvalidLifecycleSpecError) problems.push(...error.problems);
      else throw error;
    }
  }
  throw new InvalidLifecycleSpecError(problems);
}

/** Reads and resolves a lifecycle spec file (YAML or JSON); relative paths in it resolve against its folder. */
export async function loadLifecycleSpecFile(
  path: string,
  defaults: LifecycleDefaults = {},
): Promise<LifecycleSpec> {
  const full = resolve(path);
  return resolveLifecycleDocument(await readDocument(full), dirname(full), defaults);
}
