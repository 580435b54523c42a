import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Frame } from '../ml/frame.js';

export interface LoadedModel {
  readonly session: ort.InferenceSession;
  /** The execution provider that loaded it: `cuda` on a GPU worker when available, else `cpu`. */
  readonly provider: 'cuda' | 'cpu';
}

/**
 * Loads ONNX bytes into an inference session. With `gpuDevice` (or `preferGpu`, device 0), tries onnxruntime's CUDA
 * execution provider on that device first and falls back to CPU when it is not there (no GPU, no CUDA libraries):
 * GPU paths degrade, never fail.
 */
export async function loadModel(
  bytes: Uint8Array,
  options: { preferGpu?: boolean; gpuDevice?: number } = {},
): Promise<LoadedModel> {
  const deviceId = options.gpuDevice ?? (options.preferGpu ? 0 : undefined);
  if (deviceId !== undefined) {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [{ name: 'cuda', deviceId }],
      });
      return { session, provider: 'cuda' };
    } catch {
      // No CUDA provider here: fall through to CPU.
    }
  }
  return {
    session: await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] }),
    provider: 'cpu',
  };
}

/** Thrown when a frame lacks a column the model takes as input. */
export class ModelInputError extends Error {
  override readonly name = 'ModelInputError';
}

/** Feeds for the Slipway ONNX contract: one [N,1] tensor per input, float for numeric columns, string for categorical. */
export function feedsFor(session: ort.InferenceSession, frame: Frame): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of session.inputNames) {
    const column = frame.columns.find((c) => c.name === name);
    if (!column) throw new ModelInputError(`the model takes input "${name}", which the data does not have`);
    if (column.kind === 'numeric') {
      feeds[name] = new ort.Tensor('float32', Float32Array.from(column.values), [frame.rowCount, 1]);
    } else {
      const strings = Array.from(column.codes, (code) => (code < 0 ? '' : (column.categories[code] ?? '')));
      feeds[name] = new ort.Tensor('string', strings, [frame.rowCount, 1]);
    }
  }
  return feeds;
}

/** P(class 1) for every row of `frame`, from the model's `probabilities` output (scored in batches). */
export async function scoreFrame(
  model: LoadedModel,
  frame: Frame,
  batchRows = 50_000,
): Promise<Float64Array> {
  const out = new Float64Array(frame.rowCount);
  for (let start = 0; start < frame.rowCount; start += batchRows) {
    const end = Math.min(frame.rowCount, start + batchRows);
    const rows = Int32Array.from({ length: end - start }, (_, i) => start + i);
    const batch: Frame = {
      rowCount: rows.length,
      columns: frame.columns.map((c) =>
        c.kind === 'numeric'
          ? { ...c, values: c.values.subarray(start, end) }
          : { ...c, codes: c.codes.subarray(start, end) },
      ),
    };
    const result = await model.session.run(feedsFor(model.session, batch));
    const probabilities = result.probabilities;
    if (!probabilities) throw new ModelInputError('the model has no "probabilities" output');
    const data = probabilities.data as Float32Array;
    const width = Number(probabilities.dims[1] ?? 2);
    for (let i = 0; i < rows.length; i++) out[start + i] = data[i * width + (width - 1)]!;
  }
  return out;
}

/** The model's input/output signature and opset imports, for the registry. JSON-safe. */
export function modelSignature(
  model: LoadedModel,
  bytes: Uint8Array,
): { signature: Record<string, unknown>; opset: Record<string, unknown> } {
  const describe = (m: ort.InferenceSession.ValueMetadata) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) }
      : { name: m.name, type: 'non-tensor' };
  const decoded = onnxProto.onnx.ModelProto.decode(bytes);
  const opset: Record<string, unknown> = {};
  for (const o of decoded.opsetImport ?? []) opset[o.domain || 'ai.onnx'] = Number(o.version);
  return {
    signature: {
      inputs: model.session.inputMetadata.map(describe),
      outputs: model.session.outputMetadata.map(describe),
    },
    opset,
  };
}
