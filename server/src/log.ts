import pino, { type Logger } from 'pino'

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

export function createLogger(level: string, name = 'switchyard'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } })
}
