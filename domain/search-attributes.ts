import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The search attributes Slipway's workflows set, typed. Every cluster needs them registered (`slipway temporal
 * setup`; the dev server registers them at start). They make list filters such as
 * `ModelName = "elec2-price" AND Stage = "train"` possible in the Temporal UI and `temporal workflow list`.
 */
export const modelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
/** Where a run is: a training stage, a rollout phase (shadow, canary-5, awaiting-approval, promoted, ...), etc. */
export const stageKey = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);
/** The version the model's champion alias points at, set whenever it moves. */
export const championVersionKey = defineSearchAttributeKey('ChampionVersion', SearchAttributeType.INT);

export const slipwaySearchAttributeKeys = [modelNameKey, stageKey, championVersionKey] as const;
