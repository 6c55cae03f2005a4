import { execFile, spawnSync } from 'node:child_process'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'

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

// dfile: tracebacks of the runner's own code still name its source file.
const COMPILE = `import os, py_compile, sys
for source in sys.argv[2:]:
    name = os.path.splitext(os.path.basename(source))[0] + ".pyc"
    py_compile.compile(source, cfile=os.path.join(sys.argv[1], name), dfile=source, doraise=True)`

/**
 * Compiles the runner's files to bytecode in `dir`, with the interpreter that will run them
 * (bytecode is tied to its version). Python compiles the script it is given and, under -B,
 * every module without a cache from source at each start: about 5-10 ms of CPU per sandbox.
 * Returns the path of the compiled entry; its imports sit beside it.
 */
export async function compileRunner(python: string, files: readonly string[], dir: string): Promise<string> {
  await promisify(execFile)(python, ['-I', '-S', '-c', COMPILE, dir, ...files], { timeout: 30_000 })
  return join(dir, `${basename(files[0] ?? 'runner.py', '.py')}.pyc`)
}
