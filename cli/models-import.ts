import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ModelImportRequest, ModelImportResult } from '../domain/model-import.js';
import { apiClient } from './api-client.js';

type Api = ReturnType<typeof apiClient>;

async function upload(api: Api, path: string): Promise<{ uri: string; sha256: string; size: number }> {
  const size = (await stat(path)).size;
  const stream = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return api.put(`/v1/uploads?name=${encodeURIComponent(basename(path))}`, stream, size);
}

function summary(result: ModelImportResult): string {
  if (result.outcome === 'rejected')
    return [
      `not registered: ${result.model} was refused`,
      ...(result.reasons ?? []).map((r) => `  - ${r}`),
    ].join('\n');
  const lines = [
    `registered ${result.model} version ${result.version}`,
    `  classes: ${result.classes?.join(' / ')} (positive: ${result.classes?.[1]}); missing numbers ${result.acceptsMissing ? 'taken' : 'refused'}`,
    `  metrics on the reference data: ${Object.entries(result.metrics ?? {})
      .map(([k, v]) => `${k}=${v.toFixed(4)}`)
      .join(' ')}`,
    `  model: ${result.artifactUri} (sha256 ${result.artifactSha256})`,
    ...(result.warnings ?? []).map((w) => `  warning: ${w}`),
    ...Object.entries(result.reports).map(([name, uri]) => `  ${name}: ${uri}`),
  ];
  return lines.join('\n');
}

/**
 * `slipway models import <file.onnx> --name <model> --reference <csv>`: uploads the model and its reference data,
 * runs the import (signature, validation, scores and metrics on the reference data, reference profile) and prints
 * the registered version. Exit 0 when registered, 1 when refused, 2 for a file that isn't there.
 */
export async function modelsImport(
  file: string,
  options: {
    name: string;
    reference: string;
    target?: string;
    positiveClass?: string;
    json?: boolean;
    apiUrl: string;
    apiKey?: string;
    pollMs?: number;
  },
): Promise<number> {
  const modelPath = resolve(file);
  const referencePath = resolve(options.reference);
  for (const path of [modelPath, referencePath]) {
    if (
      !(await stat(path).then(
        (s) => s.isFile(),
        () => false,
      ))
    ) {
      process.stderr.write(`${path}: no such file\n`);
      return 2;
    }
  }
  const api = apiClient(options.apiUrl, options.apiKey);
  const [model, reference] = [await upload(api, modelPath), await upload(api, referencePath)];
  const request: ModelImportRequest = {
    model: options.name,
    modelUri: model.uri,
    modelSha256: model.sha256,
    referenceUri: reference.uri,
    referenceSha256: reference.sha256,
    modelFileName: basename(modelPath),
    referenceFileName: basename(referencePath),
    ...(options.target ? { target: options.target } : {}),
    ...(options.positiveClass ? { positiveClass: options.positiveClass } : {}),
  };
  const started = await api.post<{ workflowId: string; statusUrl: string }>('/v1/model-imports', request);
  process.stderr.write(`started ${started.workflowId}\n`);
  for (;;) {
    const status = await api.get<{ state: string; result?: ModelImportResult; failure?: string }>(
      started.statusUrl,
    );
    if (status.state !== 'RUNNING') {
      if (!status.result) {
        process.stderr.write(`import ${status.state.toLowerCase()}: ${status.failure ?? 'no result'}\n`);
        return 1;
      }
      process.stdout.write(
        options.json ? `${JSON.stringify(status.result, null, 2)}\n` : `${summary(status.result)}\n`,
      );
      return status.result.outcome === 'registered' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}
