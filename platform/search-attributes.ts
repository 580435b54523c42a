// Registers and checks the search attributes Slipway's workflows set, on any cluster, through Temporal's operator
// service (the API behind `temporal operator search-attribute create`).
import type { Connection } from '@temporalio/client';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
  type SearchAttributeType,
} from '@temporalio/common/lib/search-attributes.js';
import { slipwaySearchAttributeKeys } from '../domain/search-attributes.js';

type OperatorService = Connection['operatorService'];
type Key = SearchAttributeKey<SearchAttributeType>;

/** The command that registers them; named in every error about them. */
export const searchAttributeSetupCommand = 'slipway temporal setup';

/** Thrown at start-up when the namespace lacks Slipway's search attributes, or has one with another type. */
export class SearchAttributesMissingError extends Error {
  override readonly name = 'SearchAttributesMissing';
  constructor(
    readonly namespace: string,
    readonly missing: readonly string[],
    readonly wrongType: readonly string[],
  ) {
    const problems = [...(missing.length ? [`missing ${missing.join(', ')}`] : []), ...wrongType];
    super(
      `Temporal namespace "${namespace}" is not set up for Slipway's search attributes (${problems.join('; ')}). ` +
        `Run \`${searchAttributeSetupCommand}\` (it uses TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and ` +
        'TEMPORAL_TLS) and start again.',
    );
  }
}

/** A search attribute's type as the server's enum. */
function indexedType(key: Key): number {
  return encodeSearchAttributeIndexedValueType(key.type) ?? 0;
}

function typeName(indexed: number): string {
  for (const name of ['TEXT', 'KEYWORD', 'INT', 'DOUBLE', 'BOOL', 'DATETIME', 'KEYWORD_LIST'] as const)
    if (Number(encodeSearchAttributeIndexedValueType(name)) === indexed) return name;
  return `type ${indexed}`;
}

/** Which of Slipway's search attributes the namespace has, lacks, or has with another type. */
export async function searchAttributeStatus(
  operator: OperatorService,
  namespace: string,
  keys: readonly Key[] = slipwaySearchAttributeKeys,
): Promise<{ present: Key[]; missing: Key[]; wrongType: string[] }> {
  const listed = await operator.listSearchAttributes({ namespace });
  const existing = { ...(listed.systemAttributes ?? {}), ...(listed.customAttributes ?? {}) };
  const present: Key[] = [];
  const missing: Key[] = [];
  const wrongType: string[] = [];
  for (const key of keys) {
    const actual = existing[key.name] as number | undefined;
    if (actual === undefined) missing.push(key);
    else if (actual !== indexedType(key))
      wrongType.push(`${key.name} is ${typeName(actual)}, expected ${key.type}`);
    else present.push(key);
  }
  return { present, missing, wrongType };
}

/** Start-up check of a worker or the API: throws SearchAttributesMissingError naming the setup command. */
export async function requireSearchAttributes(operator: OperatorService, namespace: string): Promise<void> {
  const status = await searchAttributeStatus(operator, namespace);
  if (status.missing.length > 0 || status.wrongType.length > 0) {
    throw new SearchAttributesMissingError(
      namespace,
      status.missing.map((k) => k.name),
      status.wrongType,
    );
  }
}

/**
 * Registers whichever of Slipway's search attributes the namespace lacks; running it again changes nothing. An
 * attribute that exists with another type is an error (renaming or dropping it is the operator's decision).
 */
export async function setupSearchAttributes(
  operator: OperatorService,
  namespace: string,
): Promise<{ added: string[]; present: string[] }> {
  const status = await searchAttributeStatus(operator, namespace);
  if (status.wrongType.length > 0) throw new SearchAttributesMissingError(namespace, [], status.wrongType);
  if (status.missing.length > 0) {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(status.missing.map((k) => [k.name, indexedType(k)])),
    });
  }
  return { added: status.missing.map((k) => k.name), present: status.present.map((k) => k.name) };
}

/** `Name=Type` for the `temporal server start-dev --search-attribute` flag. */
export function devServerSearchAttributeFlags(keys: readonly Key[] = slipwaySearchAttributeKeys): string[] {
  const cliType = (type: string) =>
    type === 'KEYWORD_LIST' ? 'KeywordList' : `${type.charAt(0)}${type.slice(1).toLowerCase()}`;
  return keys.flatMap((k) => ['--search-attribute', `${k.name}=${cliType(k.type)}`]);
}
