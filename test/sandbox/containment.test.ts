import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { type SandboxIsolation, createSandboxPool, resolveIsolation } from '../../server/src/sandbox/index'
import { eventually, failure, job, pidsIn } from './helpers'

// A script forks a child that leaves the process group with setsid() and forks a grandchild
// that sleeps for ten minutes. When the run ends, none of them may be left, with namespaces
// (the pid namespace dies with its first process) and without (the pool kills the tree).
const ESCAPE = `
import os, time
ready_r, ready_w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(ready_w, b"x")
        time.sleep(600)
    os._exit(0)
os.read(ready_r, 1)
log(os.getcwd())
time.sleep(0.5)
set_output("dir", os.getcwd())`

const isPython = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').match(/runner\.py|zygote\.py/) !== null
  } catch {
    return false
  }
}

const modes: [string, SandboxIsolation][] = [
  ['in namespaces', resolveIsolation({ mode: 'bwrap', directNetwork: false })],
  ['without namespaces', { mode: 'none', network: 'off', reason: 'the test asks for none' }],
]

// A child keeps writing log lines to the runner's channel and to stdout until it is killed,
// which is after the runner's final message: nothing it writes from then on may reach the run.
const LATE_WRITER = `
import os, time
if os.fork() == 0:
    os.setsid()
    for i in range(100000):
        os.write(3, b'{"type": "log", "level": "INFO", "message": "late"}\\n')
        os.write(1, b"late\\n")
        time.sleep(0.001)
    os._exit(0)
time.sleep(0.1)
set_output("from", "the runner")`

describe.each(modes)('processes of a run %s', (_name, isolation) => {
  const pool = createSandboxPool({ warm: 0, isolation })
  afterAll(() => pool.stop())

  it('a child that outlives the final message cannot write into the run', async () => {
    let settled = false
    const afterEnd: string[] = []
    let lines = 0
    const { outputs } = await pool
      .run(
        job('python', LATE_WRITER, {
          onLog: (_level, message) => {
            lines++
            if (settled) afterEnd.push(message)
          },
        }),
      )
      .finally(() => {
        settled = true
      })
    expect(outputs).toEqual({ from: 'the runner' })
    // The child did write while the run was going.
    expect(lines).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(afterEnd).toEqual([])
  })

  it('a setsid() grandchild is gone when the run ends', async () => {
    let alive: number[] = []
    const { outputs } = await pool.run(
      job('python', ESCAPE, {
        // Logged once the grandchild runs: the runner and both forks are there to be seen.
        onLog: (_level, dir) => {
          alive = pidsIn(dir).filter(isPython)
        },
      }),
    )
    expect(alive.length).toBeGreaterThanOrEqual(2)
    const dir = String(outputs.dir)
    await eventually(() => pidsIn(dir).length === 0, 'every process of the run to be gone')
    for (const pid of alive) expect(pidsIn(dir)).not.toContain(pid)
  })
})

describe('scripts without namespaces', () => {
  const pool = createSandboxPool({ warm: 1, isolation: modes[1]![1] })
  afterAll(() => pool.stop())

  it('get no network unless an admin opts in: JavaScript', async () => {
    for (const code of [
      `process.getBuiltinModule('net').connect(5432, '127.0.0.1')`,
      // fetch wraps the refusal as its cause.
      `await fetch('http://127.0.0.1:5432/').catch((e) => { throw e.cause })`,
      `process.getBuiltinModule('dgram').createSocket('udp4').send('x', 53, '127.0.0.1')`,
      `await process.getBuiltinModule('dns').promises.lookup('localhost')`,
    ]) {
      const err = await failure(pool, job('javascript', code), 'FAILED')
      expect(err.message, code).toMatch(
        /scripts have no network on this server .*SWITCHYARD_SCRIPT_DIRECT_NETWORK/,
      )
    }
  })

  it('get no network unless an admin opts in: Python', async () => {
    const tcp = await failure(
      pool,
      job('python', 'import socket\nsocket.create_connection(("127.0.0.1", 5432))'),
      'FAILED',
    )
    expect(tcp.message).toMatch(/^PermissionError/)
    const udp = await failure(
      pool,
      job(
        'python',
        'import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 53))',
      ),
      'FAILED',
    )
    expect(udp.message).toMatch(/scripts have no network on this server/)
    // The host's unix sockets (the local PostgreSQL's among them) are out of reach too.
    const unix = await failure(
      pool,
      job(
        'python',
        'import socket\nsocket.socket(socket.AF_UNIX).connect("/var/run/postgresql/.s.PGSQL.5432")',
      ),
      'FAILED',
    )
    expect(unix.message).toMatch(/scripts have no network on this server/)
    // asyncio still starts: its self-pipe is a socketpair, which opens nothing.
    const { outputs } = await pool.run(
      job('python', 'await __import__("asyncio").sleep(0)\nset_output("ok", True)'),
    )
    expect(outputs.ok).toBe(true)
  })
})

describe('scripts without namespaces, with SWITCHYARD_SCRIPT_DIRECT_NETWORK', () => {
  const pool = createSandboxPool({
    warm: 0,
    isolation: { mode: 'none', network: 'direct', reason: 'the test asks for none' },
  })
  afterAll(() => pool.stop())

  it('open connections themselves, unfiltered: the admin opted in', async () => {
    const server = createServer((_req, res) => res.end('direct'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const { outputs } = await pool.run(
        job('javascript', `return { body: await (await fetch(${JSON.stringify(url)})).text() }`),
      )
      expect(outputs.body).toBe('direct')
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
