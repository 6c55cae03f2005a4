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

/** The server's logger; `destination` (default stdout) receives one JSON line per entry. */
export function createLogger(
  level: string,
  name = 'switchyard',
  destination?: { write(line: string): void },
): Logger {
  const options = { name, level, redact: { paths: REDACT, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}
