import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TEST_SECRET_KEY } from './server'

const serverDir = fileURLToPath(new URL('../../server', import.meta.url))

export interface NodeProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** HTTP port when the node runs the api role. */
  readonly port: number | undefined
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string
  /** SIGKILL: no drain, no goodbye. Resolves when the process is gone. */
  kill9(): Promise<void>
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>
  signal(sig: NodeJS.Signals): void
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>
}

const live = new Set<NodeProcess>()

/**
 * Starts a real Switchyard node (`server/src/main.ts`) in its own process
 * against a test database, and resolves once it prints SWITCHYARD_READY.
 * `built`: the build in server/dist that `npm start` runs instead (build it first);
 * no databaseUrl: the embedded default, in `dataDir`.
 */
export async function spawnNode(opts: {
  databaseUrl: string | undefined
  role: string
  env?: Record<string, string>
  built?: boolean
  dataDir?: string
}): Promise<NodeProcess> {
  const entry = opts.built ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts']
  const child = spawn(process.execPath, [...entry, '--role', opts.role], {
    cwd: serverDir,
    env: {
      PATH: process.env.PATH,
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
      SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
      SWITCHYARD_DATA_DIR: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sy-node-')),
      SWITCHYARD_SEED_DEMO: 'false',
      SWITCHYARD_ADMIN_PASSWORD: 'admin-password',
      SWITCHYARD_ADMIN_EMAIL: 'admin@switchyard.test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      PORT: '0',
      HOST: '127.0.0.1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in 60 s:\n${out}`)), 60_000)
    const check = () => {
      if (out.includes('SWITCHYARD_READY')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before it was ready:\n${out}`))
    })
  })
  const port = /SWITCHYARD_READY port=(\d+)/.exec(out)?.[1]
  const node: NodeProcess = {
    child,
    pid: child.pid!,
    port: port ? Number(port) : undefined,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL')
      await exited
      live.delete(node)
    },
    async stop() {
      child.kill('SIGTERM')
      const code = await exited
      live.delete(node)
      return code
    },
    signal(sig: NodeJS.Signals) {
      child.kill(sig)
    },
    exited,
  }
  live.add(node)
  return node
}

/** Kills every node a test left running (called from afterEach/afterAll). */
export async function killAllNodes(): Promise<void> {
  await Promise.all([...live].map((n) => n.kill9()))
}

/** Polls `check` every 100 ms until it holds; fails naming `what` after timeoutMs. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}
