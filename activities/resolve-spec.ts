import { createHash } from 'node:crypto';
import {
  InvalidSpecError,
  parsePipelineSpec,
  type PipelineSpec,
  type SpecProblem,
} from '../domain/pipeline-spec.js';
import type { CommandTrainer } from '../platform/command-trainers.js';
import type { Pool } from '../platform/db.js';
import { recordRun } from '../platform/registry.js';
import { canonicalJson, parseSpecDocument, readSpecDocumentUnder, specHash } from '../platform/spec-file.js';

export interface ResolveSpecInput {
  /** The run, for the record of a rejected spec. */
  readonly runId: string;
  readonly workflowId: string;
  /** The spec as typed (JSON), or absent when `specPath` names a file. */
  readonly spec?: unknown;
  readonly specPath?: string;
}

export type ResolveSpecOutput =
  | {
      readonly ok: true;
      readonly spec: PipelineSpec;
      /** sha256 of the spec's canonical JSON: part of the version's lineage. */
      readonly specHash: string;
      /** The spec file read, as a real path (for `specPath`). */
      readonly specFile?: string;
    }
  | {
      readonly ok: false;
      readonly problems: SpecProblem[];
      /** The model the spec names, when it names one, so the rejection can say whose it was. */
      readonly model?: string;
    };

/** The `model` of a spec that failed validation, when it is at least a string. */
function modelOf(raw: unknown): string | undefined {
  const model = (raw as { model?: unknown } | null)?.model;
  return typeof model === 'string' && model.length > 0 && model.length <= 63 ? model : undefined;
}

/**
 * The `spec` stage, the training workflow's first activity: validates a spec typed as JSON, or reads a spec file
 * from the worker's spec roots (relative paths against the repository; its relative `dataset.source` against the
 * file's folder, as the CLI does), and computes the spec hash. A bad spec is a result, not a failure, so the run
 * ends as `rejected` with every problem by field path.
 */
export function createResolveSpecActivities(deps: {
  readonly db: Pool;
  /** Real paths of the folders spec files may be read from; none: `specPath` is refused. */
  readonly specRoots?: readonly string[];
  /** What a relative `specPath` is relative to (the repository). */
  readonly specBaseDir: string;
  /** This worker's registered command trainers (SLIPWAY_COMMAND_TRAINERS). */
  readonly commandTrainers?: readonly CommandTrainer[];
}) {
  // A CPU run's command trainer runs on a CPU worker like this one, which knows the registered names: an unknown
  // name is a bad spec, refused before any data is read. A GPU run's trainer is registered on the GPU workers,
  // which the train stage asks.
  const runnable = (spec: PipelineSpec): PipelineSpec => {
    if (spec.trainer.kind !== 'command' || spec.resources.gpu > 0) return spec;
    const registered = deps.commandTrainers ?? [];
    if (registered.some((t) => t.name === spec.trainer.name)) return spec;
    throw new InvalidSpecError([
      {
        path: 'trainer.name',
        message: `no command trainer "${spec.trainer.name}" on this worker (registered: ${registered.map((t) => t.name).join(', ') || 'none'}; the worker's operator registers trainers in SLIPWAY_COMMAND_TRAINERS)`,
      },
    ]);
  };
  return {
    async resolveTrainingSpec(input: ResolveSpecInput): Promise<ResolveSpecOutput> {
      let raw: unknown = input.spec;
      try {
        if (input.specPath !== undefined) {
          const file = await readSpecDocumentUnder(input.specPath, {
            roots: deps.specRoots ?? [],
            baseDir: deps.specBaseDir,
          });
          raw = file.document;
          const spec = runnable(parseSpecDocument(file.document, file.path));
          return { ok: true, spec, specHash: specHash(spec), specFile: file.path };
        }
        const spec = runnable(parsePipelineSpec(raw));
        return { ok: true, spec, specHash: specHash(spec) };
      } catch (error) {
        if (!(error instanceof InvalidSpecError)) throw error;
        const model = modelOf(raw);
        const problems = [...error.problems];
        // The runs table keeps refused specs too (who tried to run what, and why it was refused). The document
        // stays out of workflow history: it is recorded here.
        const spec = raw ?? { specPath: input.specPath };
        await recordRun(deps.db, {
          runId: input.runId,
          workflowId: input.workflowId,
          model: model ?? '',
          status: 'rejected',
          stage: 'spec',
          specHash: createHash('sha256').update(canonicalJson(spec)).digest('hex'),
          spec,
          reason: problems.map((p) => `${p.path}: ${p.message}`).join('; '),
          details: { outcome: 'rejected', rejectedAt: 'spec', problems },
        });
        return { ok: false, problems, ...(model ? { model } : {}) };
      }
    },
  };
}

export type ResolveSpecActivities = ReturnType<typeof createResolveSpecActivities>;
