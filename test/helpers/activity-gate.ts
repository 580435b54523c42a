import type { ActivityInterceptorsFactory } from '@temporalio/worker';

interface Hold {
  readonly started: Promise<void>;
  readonly markStarted: () => void;
  readonly released: Promise<void>;
  readonly release: () => void;
}

function hold(): Hold {
  let markStarted!: () => void;
  let release!: () => void;
  const started = new Promise<void>((r) => (markStarted = r));
  const released = new Promise<void>((r) => (release = r));
  return { started, markStarted, released, release };
}

/**
 * Holds chosen activities at their start until the test releases them, through the SDK's activity interceptors
 * (the real activity runs once released). A test can then act (cancel a run, start another) at a known stage.
 */
export function createActivityGate() {
  const holds = new Map<string, Hold>();
  const key = (workflowId: string, activityType: string) => `${workflowId}/${activityType}`;
  const interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      async execute(input, next) {
        const h = holds.get(key(ctx.info.workflowExecution?.workflowId ?? '', ctx.info.activityType));
        if (h) {
          h.markStarted();
          await h.released;
        }
        return next(input);
      },
    },
  });
  return {
    interceptor,
    /** Holds `activityType` of `workflowId` when it starts; `started` resolves once it has, `release` lets it run. */
    hold(workflowId: string, activityType: string): { started: Promise<void>; release: () => void } {
      const h = hold();
      holds.set(key(workflowId, activityType), h);
      return { started: h.started, release: h.release };
    },
    releaseAll(): void {
      for (const h of holds.values()) h.release();
    },
  };
}
