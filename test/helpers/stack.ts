import { inject } from 'vitest';

/** Addresses of the real servers the integration global setup started (or found in the environment). */
export interface TestStack {
  readonly temporalAddress: string;
  readonly temporalNamespace: string;
  /** A PostgreSQL superuser URL; tests create their own schema or database inside it. */
  readonly databaseUrl: string;
  readonly s3: {
    readonly endpoint: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    /** A bucket that exists; tests use their own key prefix inside it. */
    readonly bucket: string;
  };
  /** 'minio' in CI; 's3rver' only where no Go toolchain could build MinIO. */
  readonly s3Server: string;
  /** The python of the virtual environment with the example trainer's requirements (provision.sh python). */
  readonly python: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

/** The running stack, for use inside integration tests. */
export function testStack(): TestStack {
  return inject('stack');
}
