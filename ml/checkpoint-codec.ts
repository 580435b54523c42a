// Checkpoint bytes for the built-in trainers: UTF-8 JSON in which every Float64Array travels as base64 of its
// little-endian bytes. JSON keeps checkpoints inspectable; base64 keeps every double bit-exact, which a resumed run
// needs to reproduce an uninterrupted one (and which JSON numbers cannot promise for NaN or -0).
import { z } from 'zod';

const F64_TAG = '$f64';
const MAGIC = 'slipway-checkpoint';

function float64ToBase64(values: Float64Array): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return Buffer.from(bytes).toString('base64');
}

function base64ToFloat64(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) throw new Error('checkpoint is corrupt: a float64 array has a partial value');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** Encodes a trainer's state; `trainer` is checked again on decode so one trainer never loads another's state. */
export function encodeCheckpoint(trainer: string, state: unknown): Uint8Array {
  const json = JSON.stringify({ magic: MAGIC, trainer, state }, (_key, value: unknown) =>
    value instanceof Float64Array ? { [F64_TAG]: float64ToBase64(value) } : value,
  );
  return new TextEncoder().encode(json);
}

/**
 * Decodes checkpoint bytes and validates the state with `schema`. Throws a clear error for bytes that are not a
 * checkpoint, belong to another trainer, or hold a state the schema rejects (naming the field).
 */
export function decodeCheckpoint<S extends z.ZodType>(
  trainer: string,
  bytes: Uint8Array,
  schema: S,
): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes), (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && F64_TAG in value) {
        const text = (value as Record<string, unknown>)[F64_TAG];
        if (typeof text === 'string') return base64ToFloat64(text);
      }
      return value;
    });
  } catch (cause) {
    throw new Error(`resumeFrom is not a ${trainer} checkpoint: it is not valid checkpoint JSON`, { cause });
  }
  const envelope = z
    .object({ magic: z.literal(MAGIC), trainer: z.string(), state: z.unknown() })
    .safeParse(parsed);
  if (!envelope.success)
    throw new Error(`resumeFrom is not a ${trainer} checkpoint: missing checkpoint header`);
  if (envelope.data.trainer !== trainer) {
    throw new Error(`resumeFrom is a ${envelope.data.trainer} checkpoint, but this trainer is ${trainer}`);
  }
  const state = schema.safeParse(envelope.data.state);
  if (!state.success) {
    const issue = state.error.issues[0]!;
    throw new Error(
      `resumeFrom ${trainer} checkpoint is invalid at "${issue.path.join('.')}": ${issue.message}`,
    );
  }
  return state.data;
}

/** A zod schema for a Float64Array field of a checkpoint state. */
export const float64ArraySchema = z.custom<Float64Array>((value) => value instanceof Float64Array, {
  message: 'expected a float64 array',
});

/**
 * A 32-bit FNV-1a fingerprint of training inputs, stored in checkpoints so resuming on different data fails
 * loudly instead of silently training a different model.
 */
export function fingerprint(...arrays: ReadonlyArray<Float64Array | Int32Array | Uint8Array>): string {
  let h = 0x811c9dc5;
  for (const array of arrays) {
    const words =
      array instanceof Float64Array
        ? new Int32Array(array.buffer, array.byteOffset, array.length * 2)
        : Int32Array.from(array);
    h = Math.imul(h ^ words.length, 0x01000193);
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
