import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BOOTSTRAP = join(ROOT, 'server', 'bin', 'bootstrap.mjs')

/** The environment a person's shell would give `npm start`, without this test run's own settings. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra }
  return env
}

export interface StartedNode {
  child: ChildProcess
  port: number | undefined
  /** stdout so far. */
  stdout(): string
  stderr(): string
  /** SIGTERM to the bootstrap process (passed on to the server); resolves with the exit code once both are gone. */
  stop(): Promise<number | null>
}

/** `node server/bin/bootstrap.mjs start <args>` as `npm start -- <args>` runs it; resolves at SWITCHYARD_READY. */
export async function startNode(env: NodeJS.ProcessEnv, args: string[] = []): Promise<StartedNode> {
  const child = spawn(process.execPath, [BOOTSTRAP, 'start', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 120 s:\n${out}\n${err}`)), 120_000)
    child.stdout!.on('data', () => {
      if (out.includes('SWITCHYARD_READY')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before it was ready:\n${out}\n${err}`))
    })
  })
  const port = /SWITCHYARD_READY port=(\d+)/.exec(out)?.[1]
  return {
    child,
    port: port ? Number(port) : undefined,
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** Runs one bootstrap command to its end. */
export function bootstrap(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [BOOTSTRAP, command, ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}
