// The registry of built-in trainers, looked up by the name a pipeline spec gives. Adding a trainer is one import
// and one entry in `builtInTrainers` (and its name in `BuiltInTrainerName`).
import { gbdtTrainer } from './gbdt/index.js';
import { logisticRegressionTrainer } from './logistic-regression.js';
import { mlpTrainer } from './mlp.js';
import type { Trainer } from './trainer.js';

export type BuiltInTrainerName = 'logistic_regression' | 'mlp' | 'gbdt';

/**
 * Every built-in trainer by name. Params are `unknown` here: callers pass raw spec params through `parseParams`
 * and hand the result to `fit`, which is how the types line up without knowing each trainer's params.
 */
export const builtInTrainers: Readonly<Record<BuiltInTrainerName, Trainer<unknown>>> = {
  logistic_regression: logisticRegressionTrainer,
  mlp: mlpTrainer,
  gbdt: gbdtTrainer,
};

/** Names of the built-in trainers, for error messages and spec validation. */
export const builtInTrainerNames = Object.keys(builtInTrainers) as BuiltInTrainerName[];

/** True when `name` is a built-in trainer. */
export function isBuiltInTrainerName(name: string): name is BuiltInTrainerName {
  return Object.hasOwn(builtInTrainers, name);
}

/** The built-in trainer called `name`; throws naming the trainers that exist. */
export function trainerByName(name: string): Trainer<unknown> {
  if (!isBuiltInTrainerName(name)) {
    throw new Error(`unknown trainer "${name}"; built-in trainers are: ${builtInTrainerNames.join(', ')}`);
  }
  return builtInTrainers[name];
}
