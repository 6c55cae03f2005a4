import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }

/** Paths never written to logs: credentials, tokens and whatever carries them. */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'connectionString',
  '*.connectionString',
]

export interface LoggerOptions {
  /** Human-readable lines (a person at a terminal) instead of one JSON object a line (a log collector). */
  pretty?: boolean
  /** Where JSON lines go (default stdout); tests read the log this way. */
  destination?: { write(line: string): void }
}

/** The server's logger. */
export function createLogger(level: string, name = 'switchyard', opts: LoggerOptions = {}): Logger {
  const options = { name, level, redact: { paths: REDACT, censor: '[redacted]' } }
  if (opts.destination) return pino(options, opts.destination)
  if (!opts.pretty) return pino(options)
  // Synchronous, in this thread: a worker-thread transport would cost idle memory and
  // could lose the last lines of a crash.
  return pino(options, pretty({ sync: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname,name' }))
}

/** Whether `format` (SWITCHYARD_LOG_FORMAT) asks for human-readable logs on this stdout. */
export function wantsPrettyLogs(format: 'auto' | 'pretty' | 'json', stdoutIsTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTTY)
}
