// Open Inference Protocol metadata: the inputs and outputs of a version, as V2 clients read them.
import type { ServingInterface } from '../domain/serving-interface.js';

const datatypeOf: Record<ServingInterface['inputs'][number]['type'], string> = {
  float32: 'FP32',
  float64: 'FP64',
  int64: 'INT64',
  string: 'BYTES',
};

/** `GET /v2/models/{name}[/versions/{v}]`: the version's ONNX inputs and the outputs every served model gives. */
export function modelMetadata(model: string, versions: readonly number[], iface: ServingInterface) {
  return {
    name: model,
    versions: versions.map(String),
    platform: 'onnxruntime_onnx',
    inputs: iface.inputs.map((i) => ({
      name: i.name,
      datatype: datatypeOf[i.type],
      shape: i.rank === 2 ? [-1, i.width] : [-1],
    })),
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, iface.probabilities.width] },
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'request_id', datatype: 'BYTES', shape: [-1] },
    ],
    parameters: {
      positive_class: iface.classes[1],
      negative_class: iface.classes[0],
      positive_index: iface.probabilities.positiveIndex,
      accepts_missing: iface.acceptsMissing,
    },
  };
}
