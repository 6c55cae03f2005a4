// Caps shared by the pool and the runners (runner.mjs and runner.py repeat the numbers,
// because they cannot import TypeScript; the parent enforces them again in any case,
// since user code can bypass anything that runs inside the sandbox process).

export const DEFAULT_MEMORY_MB = 256
export const MAX_LOG_LINE_BYTES = 10 * 1024
export const MAX_OUTPUT_BYTES = 1024 * 1024

/**
 * The heap cap leaves Buffers, typed arrays and native memory uncapped, so a watchdog
 * kills a process whose resident memory passes this. Node's baseline RSS is ~45 MB and
 * young generation and code space sit outside the old-space cap, hence the margin.
 */
export function rssLimitMb(memoryMb: number): number {
  return memoryMb * 2 + 128
}

/** A runner's message line (a result holds up to 1 MB of outputs as JSON); longer ones are dropped. */
export const MAX_MESSAGE_CHARS = 4 * 1024 * 1024

/**
 * Log lines from a job past this are dropped (with one warning): a script printing in a
 * loop must not flood the run's log table or the subscribers of its live log.
 */
export const MAX_LOG_BYTES_PER_JOB = 5 * 1024 * 1024

/** Cuts a log line to {@link MAX_LOG_LINE_BYTES}, saying how long it was (`cut`: it was longer still). */
export function truncateLine(text: string, cut = false): string {
  const bytes = Buffer.byteLength(text)
  if (bytes <= MAX_LOG_LINE_BYTES && !cut) return text
  const suffix = ` … [truncated, ${cut ? 'over ' : ''}${bytes} bytes]`
  return (
    Buffer.from(text)
      .subarray(0, MAX_LOG_LINE_BYTES - Buffer.byteLength(suffix))
      .toString() + suffix
  )
}
