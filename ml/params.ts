// Shared validation for trainer parameters and training options, so every bad value gets the same kind of message:
// which trainer, which parameter, what is wrong.
import type { z } from 'zod';
import type { TrainingData, TrainOptions } from './trainer.js';

/** Parses `raw` with `schema`; throws `invalid <trainer> parameter "<path>": <message>` on the first issue. */
export function parseTrainerParams<S extends z.ZodType>(
  trainer: string,
  schema: S,
  raw: unknown,
): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.join('.');
  throw new Error(`invalid ${trainer} parameter "${path || '(params)'}": ${issue.message}`);
}

/** Checks the training data and the generic options every built-in trainer shares. */
export function checkTrainingInput<P>(trainer: string, data: TrainingData, options: TrainOptions<P>): void {
  const { features, labels } = data;
  if (labels.length !== features.rowCount) {
    throw new Error(
      `${trainer}: labels has ${labels.length} entries but features has ${features.rowCount} rows`,
    );
  }
  for (const column of features.columns) {
    const length = column.kind === 'numeric' ? column.values.length : column.codes.length;
    if (length !== features.rowCount) {
      throw new Error(
        `${trainer}: column "${column.name}" has ${length} values, expected ${features.rowCount}`,
      );
    }
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y > 1) throw new Error(`${trainer}: labels must be 0 or 1, got ${y} at row ${i}`);
    positives += y;
  }
  if (positives === 0 || positives === labels.length) {
    throw new Error(`${trainer}: training labels must contain both classes 0 and 1`);
  }
  if (!Number.isInteger(options.seed))
    throw new Error(`${trainer}: seed must be an integer, got ${options.seed}`);
  const every = options.checkpointEvery;
  if (every !== undefined && (!Number.isInteger(every) || every < 1)) {
    throw new Error(`${trainer}: checkpointEvery must be a positive integer, got ${every}`);
  }
  if (options.validation && options.validation.labels.length !== options.validation.features.rowCount) {
    throw new Error(`${trainer}: validation labels and features have different row counts`);
  }
}
