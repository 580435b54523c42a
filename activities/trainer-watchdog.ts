// A command trainer must not outlive its worker: after a SIGKILL (or an OOM kill) of the worker, Temporal retries the
// attempt elsewhere, and an orphaned trainer would keep a GPU and write checkpoints beside the retry. Nothing in the
// kernel does this for a whole process tree: PR_SET_PDEATHSIG (`setpriv --pdeathsig`) reaches the direct child only,
// and fires when the spawning *thread* exits. So the trainer runs under a small shell that leads its process group:
// it starts the program, and a loop beside it checks every `pollSeconds` that the worker is still its parent; when
// it is not, it kills the whole group (the program, whatever the program started, and itself). The program's exit
// status passes through unchanged. Measured: the group is gone 0.2-0.4 s after SIGKILL of the worker
// (test/integration/orphan-trainer.test.ts).

/** How often the watchdog checks its worker. */
export const watchdogPollSeconds = 0.2;

// $1: the worker's pid; the rest: the trainer's argv. On Linux the shell's current parent is read from
// /proc/$$/stat (field 4), which also catches the worker's pid being reused; elsewhere `kill -0` on the pid.
const script = `
worker=$1
shift
"$@" &
child=$!
(
  while :; do
    if [ -r /proc/$$/stat ]; then
      read -r _ _ _ parent _ < /proc/$$/stat
      [ "$parent" = "$worker" ] || break
    else
      kill -0 "$worker" 2>/dev/null || break
    fi
    sleep ${watchdogPollSeconds}
  done
  kill -KILL 0
) </dev/null >/dev/null 2>&1 &
watch=$!
wait "$child"
code=$?
kill "$watch" 2>/dev/null
exit "$code"
`;

/** The program and arguments that run `argv` under the watchdog of worker process `workerPid`. */
export function underWatchdog(
  workerPid: number,
  argv: readonly string[],
): { program: string; args: string[] } {
  return { program: '/bin/sh', args: ['-c', script, 'slipway-trainer', String(workerPid), ...argv] };
}
