import type { LogLevel } from '../domain'
import type { ChildExit, SandboxProcess } from './child'
import { type CompiledScript, describePosition } from './compile'
import {
  DEFAULT_MEMORY_MB,
  MAX_LOG_BYTES_PER_JOB,
  MAX_OUTPUT_BYTES,
  rssLimitMb,
  truncateLine,
} from './limits'
import { type ChildMessage, childMessage } from './protocol'
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

/** What a runner's final message means for the job; undefined for a log line. */
function outcomeOf(message: ChildMessage, compiled: CompiledScript): ScriptResult | ScriptError | undefined {
  if (message.type === 'log') return undefined
  if (message.type === 'done') {
    const bytes = Buffer.byteLength(JSON.stringify(message.outputs))
    if (bytes <= MAX_OUTPUT_BYTES) return { outputs: message.outputs }
    return new ScriptError(
      'FAILED',
      `outputs are limited to 1 MB in total; the script produced ${bytes} bytes`,
    )
  }
  const at =
    message.line !== undefined && message.column !== undefined
      ? compiled.toUserPosition(message.line, message.column)
      : undefined
  const text = `${message.message}${describePosition(at)}`
  return new ScriptError(message.memory ? 'MEMORY' : 'FAILED', text, { line: at?.line, column: at?.column })
}

/**
 * Polls the process's resident memory: Buffers and native memory escape the heap cap.
 * Returns the function that stops polling.
 */
function watchMemory(proc: SandboxProcess, onOver: (error: ScriptError) => void): () => void {
  const limit = rssLimitMb(proc.memoryMb)
  let reading = false
  const interval = setInterval(() => {
    if (reading) return
    reading = true
    proc.rssMb().then((rss) => {
      reading = false
      if (rss === undefined || rss <= limit) return
      const used = Math.round(rss)
      onOver(
        new ScriptError(
          'MEMORY',
          `the script used ${used} MB of memory, over the ${limit} MB allowed for a ${proc.memoryMb} MB heap`,
        ),
      )
    })
  }, WATCHDOG_INTERVAL_MS)
  return () => clearInterval(interval)
}

/** Passes log lines on, capped per job, shielding the pool from a listener that throws. */
function logSink(onLog: ScriptJob['onLog']): (level: LogLevel, message: string) => void {
  let bytes = 0
  return (level, message) => {
    if (!onLog || bytes > MAX_LOG_BYTES_PER_JOB) return
    const line = truncateLine(message)
    bytes += Buffer.byteLength(line)
    try {
      if (bytes <= MAX_LOG_BYTES_PER_JOB) onLog(level, line)
      else
        onLog('WARN', `the script logged more than ${MAX_LOG_BYTES_PER_JOB} bytes; further lines are dropped`)
    } catch {
      // A broken listener must not kill the run or, from an event handler, the server.
    }
  }
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
    const sink = logSink(job.onLog)
    const log = (level: LogLevel, message: string) => {
      if (!settled) sink(level, message)
    }
    const onAbort = () => settle(new ScriptError('CANCELLED', 'the run was cancelled'))
    const onPoolStop = () => settle(new ScriptError('CANCELLED', 'the sandbox pool was stopped'))
    const timeout = `the script ran longer than ${job.timeoutMs} ms and was stopped`
    const timer = setTimeout(() => settle(new ScriptError('TIMEOUT', timeout)), job.timeoutMs)
    const stopWatching = watchMemory(proc, (error) => settle(error))
    job.signal?.addEventListener('abort', onAbort, { once: true })
    poolStopping.addEventListener('abort', onPoolStop, { once: true })

    function settle(outcome: ScriptResult | ScriptError): void {
      if (settled) return
      settled = true
      clearTimeout(timer)
      stopWatching()
      job.signal?.removeEventListener('abort', onAbort)
      poolStopping.removeEventListener('abort', onPoolStop)
      proc.kill()
      if (outcome instanceof ScriptError) reject(outcome)
      else resolve(outcome)
    }

    proc.start(
      // The job's own cap: the Python runner checks it against the one it was started with.
      { type: 'job', source: compiled.source, args, memoryMb: job.memoryMb ?? DEFAULT_MEMORY_MB },
      {
        message(raw) {
          const parsed = childMessage.safeParse(raw)
          // User code can write to the channel too; anything malformed is dropped, not trusted.
          if (!parsed.success) return
          if (parsed.data.type === 'log') log(parsed.data.level, parsed.data.message)
          const outcome = outcomeOf(parsed.data, compiled)
          if (outcome) settle(outcome)
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
