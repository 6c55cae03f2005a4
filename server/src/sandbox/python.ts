import { spawnSync } from 'node:child_process'

/** The python3 interpreter and the dirs it loads from (its prefixes), as Python reports them. */
export interface PythonInstall {
  executable: string
  /** sys.prefix, base_prefix and the exec prefixes: what a sandbox must mount for it to start. */
  prefixes: string[]
}

let resolved: PythonInstall | null | undefined

const PROBE =
  'import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]))'

/**
 * The real python3 interpreter behind PATH, resolved once. Asking Python for
 * sys.executable skips shims (pyenv's is a bash script that needs HOME, which the
 * sandbox does not pass) and saves their start-up on every run.
 */
export function pythonInstall(): PythonInstall | null {
  if (resolved !== undefined) return resolved
  const probe = spawnSync('python3', ['-c', PROBE], { encoding: 'utf8', timeout: 10_000 })
  let paths: string[] = []
  try {
    paths = probe.status === 0 ? (JSON.parse(probe.stdout) as string[]) : []
  } catch {
    paths = []
  }
  const [executable, ...prefixes] = paths
  resolved = executable ? { executable, prefixes: [...new Set(prefixes)].filter((p) => p !== '/') } : null
  return resolved
}

/** The python3 executable, or null where there is none. */
export function pythonExecutable(): string | null {
  return pythonInstall()?.executable ?? null
}

/** Whether python3 is on PATH, so SCRIPT automations may use `python`. Cached after the first call. */
export function pythonAvailable(): boolean {
  return pythonInstall() !== null
}
