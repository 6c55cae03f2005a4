import { spawnSync } from 'node:child_process'

let resolved: string | null | undefined

/**
 * The real python3 interpreter behind PATH, resolved once. Asking Python for
 * sys.executable skips shims (pyenv's is a bash script that needs HOME, which the
 * sandbox does not pass) and saves their start-up on every run.
 */
export function pythonExecutable(): string | null {
  if (resolved !== undefined) return resolved
  const probe = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
    encoding: 'utf8',
    timeout: 10_000,
  })
  const path = probe.status === 0 ? probe.stdout.trim() : ''
  resolved = path === '' ? null : path
  return resolved
}

/** Whether python3 is on PATH, so SCRIPT automations may use `python`. Cached after the first call. */
export function pythonAvailable(): boolean {
  return pythonExecutable() !== null
}
