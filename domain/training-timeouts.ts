// How long each activity of the training workflow may take, sized to its work. Workflow-safe constants: changing
// one changes only activities scheduled afterwards, never a recorded history.

/** Activity options of one kind of step: Temporal durations (`'30 seconds'`). */
export interface StepTimeouts {
  /** One attempt. */
  readonly startToClose: string;
  /** Between heartbeats, for activities that heartbeat; a dead worker is noticed within this. */
  readonly heartbeat?: string;
  /** All attempts together, retries included. */
  readonly scheduleToClose?: string;
  /** Attempts before the run fails; absent: retried until `scheduleToClose`. */
  readonly maximumAttempts?: number;
}

export const trainingTimeouts = {
  /** Validating the spec and reading its file: milliseconds of work. */
  spec: { startToClose: '1 minute', maximumAttempts: 5 },
  /** Streams the dataset twice and stores it: minutes for GBs. */
  ingest: { startToClose: '2 hours', heartbeat: '1 minute', maximumAttempts: 5 },
  /** Checks, split and profile in a worker thread. */
  validate: { startToClose: '1 hour', heartbeat: '1 minute', maximumAttempts: 5 },
  /** Hours of training; a 20 s heartbeat timeout so a killed worker's retry resumes from its checkpoint soon. */
  train: { startToClose: '12 hours', heartbeat: '20 seconds', maximumAttempts: 5 },
  /** Scoring, bootstrap and the champion comparison in a worker thread. */
  evaluate: { startToClose: '2 hours', heartbeat: '1 minute', maximumAttempts: 5 },
  /**
   * Database writes (registration, the run record): one attempt is a transaction of milliseconds, so a stuck one
   * is retried after 30 s; the retries keep going for an hour so a database restart doesn't fail the run.
   */
  databaseWrite: { startToClose: '30 seconds', scheduleToClose: '1 hour' },
  /** Deleting a finished run's checkpoints. */
  cleanup: { startToClose: '10 minutes', heartbeat: '1 minute', maximumAttempts: 5 },
} as const satisfies Record<string, StepTimeouts>;
