import { FILE_LIMIT_VARIABLES, type FileLimits } from '../../config'
import { RunFailure } from '../../kinds/kind'

export type { FileLimits }

function size(n: number): string {
  for (const [unit, bytes] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= bytes && n % bytes === 0) return `${n / bytes} ${unit}`
  }
  return `${n} bytes`
}

/**
 * The failure of a run that reached a file cap: what went over, the cap, and
 * the variable that raises it, so the operator knows what to change.
 */
export function overCap(file: string, what: string, limit: keyof FileLimits, limits: FileLimits): RunFailure {
  const value = limits[limit]
  const shown = limit === 'maxFileRows' ? `${value} rows` : size(value)
  const variable = FILE_LIMIT_VARIABLES[limit]
  return new RunFailure(
    `${file}: ${what} is over the cap of ${shown} (${variable}); raise ${variable} on the server to read it`,
  )
}

/** True when a string takes more than `max` bytes in UTF-8, computing the byte length only when in doubt. */
export function overBytes(s: string, max: number): boolean {
  // A UTF-16 unit takes 1 to 3 bytes in UTF-8 (a surrogate pair 4 for 2 units).
  if (s.length > max) return true
  if (s.length * 3 <= max) return false
  return Buffer.byteLength(s) > max
}
