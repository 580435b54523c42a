import type { ModelSummary, ModelVersion } from '../platform/registry.js';
import { apiClient } from './api-client.js';

/** `slipway models list`. */
export async function modelsList(options: {
  json?: boolean;
  apiUrl: string;
  apiKey?: string;
}): Promise<number> {
  const { models } = await apiClient(options.apiUrl, options.apiKey).get<{ models: ModelSummary[] }>(
    '/v1/models',
  );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
    return 0;
  }
  if (models.length === 0) process.stdout.write('no models yet\n');
  for (const m of models) {
    const aliases = Object.entries(m.aliases)
      .map(([a, v]) => `${a}=v${v}`)
      .join(' ');
    process.stdout.write(`${m.name}\tlatest v${m.latestVersion}\t${aliases}\n`);
  }
  return 0;
}

/** `slipway models show <name>[@alias|:version]`. */
export async function modelsShow(
  ref: string,
  options: { json?: boolean; apiUrl: string; apiKey?: string },
): Promise<number> {
  const match = /^([a-z0-9][a-z0-9_-]{0,62})(?:@([a-z][a-z0-9_-]*)|:(\d+))?$/.exec(ref);
  if (!match) {
    process.stderr.write(
      `"${ref}" is not a model reference: expected <name>, <name>@<alias> or <name>:<version>\n`,
    );
    return 2;
  }
  const [, name, alias, number] = match;
  const api = apiClient(options.apiUrl, options.apiKey);
  const body =
    alias || number
      ? await api.get<ModelVersion>(`/v1/models/${name}/versions/${alias ?? number}`)
      : await api.get<{ versions: ModelVersion[] }>(`/v1/models/${name}`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const versions = 'versions' in body ? body.versions : [body];
  for (const v of versions) {
    process.stdout.write(
      [
        `${v.model} v${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}  ${v.createdAt}`,
        `  trainer ${v.trainer}  code ${v.codeVersion}`,
        `  metrics ${Object.entries(v.metrics)
          .map(([k, x]) => `${k}=${typeof x === 'number' ? x.toFixed(4) : String(x)}`)
          .join(' ')}`,
        `  dataset ${v.datasetSha256}`,
        `  artifact ${v.artifactUri} (sha256 ${v.artifactSha256})`,
        `  reports ${v.validationReportUri} ${v.evaluationReportUri}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}
