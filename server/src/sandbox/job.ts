import type { ChildExit, SandboxProcess } from './child'
import { type CompiledScript, describePosition } from './compile'
import { MAX_LOG_BYTES_PER_JOB, MAX_OUTPUT_BYTES, rssLimitMb, truncateLine } from './limits'
import { childMessage } from './protocol'
import type { LogLevel } from '../domain'
import { ScriptError, type ScriptJob, type ScriptResult } from './types'

const WATCHDOG_INTERVAL_MS = 100

function describeExit(exit: ChildExit): string {
  if (exit.signal) return `signal ${exit.signal}`
  return `exit code ${exit.code}`
}

/** The end of stderr, enough to tell what killed the process without flooding the run's error. */
function lastLines(text: string, count = 5): string {
  const tail = text.trim().split('\n').slice(-count).join('\n')
  return tail === '' ? '' : `:\n${tail.slice(-1000)}`
}

function fromExit(exit: ChildExit, proc: SandboxProcess): ScriptError {
  if (exit.error) {
    return new ScriptError('CRASHED', `could not start the sandbox process: ${exit.error.message}`, {
      cause: exit.error,
    })
  }
  const stderr = proc.stderrTail()
  if (/heap out of memory|Reached heap limit|Allocation failed - process out of memory/.test(stderr)) {
    return new ScriptError('MEMORY', `the script ran out of memory (limit ${proc.memoryMb} MB)`)
  }
  return new ScriptError(
    'CRASHED',
    `the sandbox process ended without a result (${describeExit(exit)})${lastLines(stderr)}`,
  )
}

/**
 * Runs one job on a sandbox process and kills the process when the job ends, whichever
 * way: result, failure, timeout, cancel or memory. Resolves as soon as the outcome is
 * known; the process's own exit (and temp dir removal) is awaited by the pool.
 */
export function runOnProcess(
  proc: SandboxProcess,
  job: ScriptJob,
  compiled: CompiledScript,
  args: Record<string, unknown>,
  poolStopping: AbortSignal,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    let settled = false
    let fatal = false
    let logBytes = 0
    const log = (level: LogLevel, message: string) => {
      if (settled || !job.onLog || logBytes > MAX_LOG_BYTES_PER_JOB) return
      const line = truncateLine(message)
      logBytes += Buffer.byteLength(line)
      try {
        if (logBytes <= MAX_LOG_BYTES_PER_JOB) job.onLog(level, line)
        else
          job.onLog(
            'WARN',
            `the script logged more than ${MAX_LOG_BYTES_PER_JOB} bytes; further lines are dropped`,
          )
      } catch {
        // A broken listener must not kill the run or, from an event handler, the server.
      }
    }
    const settle = (outcome: ScriptResult | ScriptError) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearInterval(watchdog)
      job.signal?.removeEventListener('abort', onAbort)
      poolStopping.removeEventListener('abort', onPoolStop)
      proc.kill()
      if (outcome instanceof ScriptError) reject(outcome)
      else resolve(outcome)
    }

    const timer = setTimeout(
      () =>
        settle(new ScriptError('TIMEOUT', `the script ran longer than ${job.timeoutMs} ms and was stopped`)),
      job.timeoutMs,
    )
    const onAbort = () => settle(new ScriptError('CANCELLED', 'the run was cancelled'))
    job.signal?.addEventListener('abort', onAbort, { once: true })
    const onPoolStop = () => settle(new ScriptError('CANCELLED', 'the sandbox pool was stopped'))
    poolStopping.addEventListener('abort', onPoolStop, { once: true })

    // Buffers and native memory escape the heap cap; watch what the process really holds.
    const rssLimit = rssLimitMb(proc.memoryMb)
    let reading = false
    const watchdog = setInterval(() => {
      if (reading) return
      reading = true
      proc.rssMb().then((rss) => {
        reading = false
        if (rss !== undefined && rss > rssLimit) {
          settle(
            new ScriptError(
              'MEMORY',
              `the script used ${Math.round(rss)} MB of memory, over the ${rssLimit} MB allowed for a ${proc.memoryMb} MB heap`,
            ),
          )
        }
      })
    }, WATCHDOG_INTERVAL_MS)

    proc.start(
      { type: 'job', source: compiled.source, args, memoryMb: proc.memoryMb },
      {
        message(raw) {
          const parsed = childMessage.safeParse(raw)
          // User code can post to the channel too; anything malformed is dropped, not trusted.
          if (!parsed.success) return
          const message = parsed.data
          if (message.type === 'log') log(message.level, message.message)
          else if (message.type === 'done') {
            const bytes = Buffer.byteLength(JSON.stringify(message.outputs))
            if (bytes > MAX_OUTPUT_BYTES) {
              settle(
                new ScriptError(
                  'FAILED',
                  `outputs are limited to 1 MB in total; the script produced ${bytes} bytes`,
                ),
              )
            } else settle({ outputs: message.outputs })
          } else {
            const at =
              message.line !== undefined && message.column !== undefined
                ? compiled.toUserPosition(message.line, message.column)
                : undefined
            const reason = message.memory ? 'MEMORY' : 'FAILED'
            settle(
              new ScriptError(reason, `${message.message}${describePosition(at)}`, {
                line: at?.line,
                column: at?.column,
              }),
            )
          }
        },
        output(stream, line) {
          // V8's OOM report is a native stack dump: the error says MEMORY, the log needs none of it.
          if (/^(FATAL ERROR|<--- Last few GCs)/.test(line)) fatal = true
          if (!fatal && line.trim() !== '') log(stream === 'stdout' ? 'INFO' : 'WARN', line)
        },
      },
    )
    if (job.signal?.aborted) onAbort()
    if (poolStopping.aborted) onPoolStop()

    proc.exited.then((exit) => settle(fromExit(exit, proc)))
  })
}
