// Parameters of the histogram gradient-boosted trees trainer. Names follow scikit-learn's
// HistGradientBoostingClassifier in camelCase (learning_rate -> learningRate...), with the same defaults, plus
// LightGBM-style row and column subsampling.
import { z } from 'zod';
import { parseTrainerParams } from '../params.js';

export const GBDT_NAME = 'gbdt';

export const gbdtParamsSchema = z
  .object({
    /** Shrinkage applied to every leaf value. */
    learningRate: z.number().finite().positive().max(10).default(0.1),
    /** Maximum number of boosting iterations (trees). */
    maxIter: z.number().int().min(1).max(100_000).default(100),
    /** Leaf-wise growth stops when a tree has this many leaves. */
    maxLeafNodes: z.number().int().min(2).max(4096).default(31),
    /** Depth limit (root = 0); null means none, as in scikit-learn. */
    maxDepth: z.number().int().min(1).max(64).nullable().default(null),
    /** Minimum number of training rows in a leaf. */
    minSamplesLeaf: z.number().int().min(1).default(20),
    /** L2 penalty on leaf values (lambda in the XGBoost paper). */
    l2Regularization: z.number().finite().min(0).default(0),
    /** Minimum sum of hessians in a leaf (scikit-learn's min_hessian_to_split, LightGBM's min_sum_hessian_in_leaf). */
    minHessianToSplit: z.number().finite().min(0).default(1e-3),
    /** Non-missing bins per feature; one more bin is kept for missing values. */
    maxBins: z.number().int().min(2).max(255).default(255),
    /** Fraction of training rows drawn (without replacement) for each tree. */
    subsample: z.number().finite().gt(0).max(1).default(1),
    /** Fraction of features drawn for each tree. */
    colsampleByTree: z.number().finite().gt(0).max(1).default(1),
    /** Fraction of the tree's features considered at each split (scikit-learn's max_features). */
    colsampleByNode: z.number().finite().gt(0).max(1).default(1),
    /**
     * 'auto' enables early stopping when a `validation` set is given or there are more than 10,000 training rows
     * (scikit-learn's rule). As in scikit-learn, the model keeps every tree built until it stopped; metadata()
     * reports the iteration with the best validation loss as `bestIteration`.
     */
    earlyStopping: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** Share of the training rows held out (stratified) for early stopping when no `validation` option is given. */
    validationFraction: z.number().finite().gt(0).lt(1).default(0.1),
    /** Stop when none of the last n iterations improved the validation loss by more than `tol`. */
    nIterNoChange: z.number().int().min(1).default(10),
    tol: z.number().finite().min(0).default(1e-7),
    /**
     * Threads that build histograms and search splits together; absent: the machine's cores (at most 8). The
     * model does not depend on it: the same data, parameters and seed give the same trees for any count.
     */
    threads: z.number().int().min(1).max(64).optional(),
  })
  .strict();

export type GbdtParams = z.output<typeof gbdtParamsSchema>;

/** Validates raw params and fills defaults; throws `invalid gbdt parameter "<name>": <why>` on the first problem. */
export function parseGbdtParams(raw: unknown): GbdtParams {
  return parseTrainerParams(GBDT_NAME, gbdtParamsSchema, raw);
}
