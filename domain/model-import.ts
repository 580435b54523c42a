import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex sha256');

/**
 * A request to register an ONNX model trained elsewhere: the uploaded model and reference data (artifact store URIs
 * with their sha256), the label column and its positive class. The same JSON starts the `modelImport` workflow from
 * the API, the CLI or the Temporal UI.
 */
export const modelImportRequestSchema = z
  .object({
    model: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a model name: lower-case letters, digits, _ and -'),
    modelUri: z.string().min(1),
    modelSha256: sha256,
    referenceUri: z.string().min(1),
    referenceSha256: sha256,
    /** The label column of the reference data; default: the only column the model doesn't take. */
    target: z.string().min(1).optional(),
    /** The positive class as the data writes it; default: the second of a natural pair (0/1, no/yes...). */
    positiveClass: z.string().min(1).optional(),
    /** The file names the user gave, for the lineage. */
    modelFileName: z.string().max(300).optional(),
    referenceFileName: z.string().max(300).optional(),
  })
  .strict();

export type ModelImportRequest = z.infer<typeof modelImportRequestSchema>;

export interface ModelImportInput extends ModelImportRequest {
  readonly requestedBy: string;
  readonly queuePrefix: string;
}

export interface ModelImportResult {
  readonly outcome: 'registered' | 'rejected';
  readonly model: string;
  readonly version?: number;
  readonly reasons?: readonly string[];
  readonly metrics?: Record<string, number>;
  readonly artifactUri?: string;
  readonly artifactSha256?: string;
  readonly acceptsMissing?: boolean;
  readonly classes?: readonly [string, string];
  readonly warnings?: readonly string[];
  readonly reports: Record<string, string>;
}
