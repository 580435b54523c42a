import type { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` every `everyMs` until the returned stop function runs, so long stretches without
 * progress (downloads, a first epoch, uploads, a slow parse) never look like a dead worker. Returns the stop function.
 */
export function keepHeartbeating(ctx: Context, details: () => unknown, everyMs = 5000): () => void {
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  return () => clearInterval(timer);
}
