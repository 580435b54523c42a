import { describe, expect, it } from 'vitest';
import {
  builtInTrainerNames,
  builtInTrainers,
  isBuiltInTrainerName,
  trainerByName,
} from '../../ml/trainers.js';
import { syntheticData } from './ml-onnx-feeds.js';

describe('built-in trainer registry', () => {
  it('lists logistic regression and the MLP under their spec names', () => {
    expect(builtInTrainerNames).toEqual(expect.arrayContaining(['logistic_regression', 'mlp']));
    for (const name of builtInTrainerNames) expect(builtInTrainers[name].name).toBe(name);
    expect(isBuiltInTrainerName('mlp')).toBe(true);
    expect(isBuiltInTrainerName('toString')).toBe(false);
  });

  it('finds a trainer by name and fits through the unknown-params interface', () => {
    const trainer = trainerByName('logistic_regression');
    const model = trainer.fit(syntheticData(100, 1), {
      params: trainer.parseParams({ maxIter: 5 }),
      seed: 1,
    });
    expect(model.metadata()).toMatchObject({ trainer: 'logistic_regression' });
  });

  it('names the trainers that exist when the name is unknown', () => {
    expect(() => trainerByName('xgboost')).toThrow(
      /unknown trainer "xgboost"; built-in trainers are: .*logistic_regression.*mlp/,
    );
  });
});
