// The histogram gradient-boosted trees trainer (binary log loss), registered as 'gbdt'.
import type { Trainer } from '../trainer.js';
import { fitGbdt } from './boost.js';
import type { GbdtParams } from './params.js';
import { GBDT_NAME, parseGbdtParams } from './params.js';

export type { GbdtParams } from './params.js';
export { gbdtParamsSchema, parseGbdtParams } from './params.js';

/** Histogram GBDT in the manner of LightGBM / scikit-learn's HistGradientBoostingClassifier, exported as ONNX. */
export const gbdtTrainer: Trainer<GbdtParams> = {
  name: GBDT_NAME,
  incrementalCheckpoints: true,
  parseParams: parseGbdtParams,
  fit: fitGbdt,
};
