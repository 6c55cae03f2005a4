import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandboxPool } from '../../server/src/sandbox/index'
import { failure, job } from './helpers'

const pool = createSandboxPool({ warm: 2 })
const serverSource = fileURLToPath(new URL('../../server/src/sandbox/pool.ts', import.meta.url))
const repoPackage = fileURLToPath(new URL('../../package.json', import.meta.url))

// Secrets the server process holds; the scrubbed environment must not pass them on.
const planted = {
  DATABASE_URL: 'postgres://secret@db/prod',
  SWITCHYARD_ADMIN_PASSWORD: 'hunter2',
  AWS_SECRET: 'x',
}
const previous: Record<string, string | undefined> = {}
beforeAll(() => {
  for (const [name, value] of Object.entries(planted)) {
    previous[name] = process.env[name]
    process.env[name] = value
  }
})
afterAll(async () => {
  for (const [name, value] of Object.entries(previous)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  await pool.stop()
})

describe('the Node sandbox (permission model)', () => {
  it('cannot read /etc/passwd', async () => {
    const err = await failure(
      pool,
      job(
        'javascript',
        `return { text: process.getBuiltinModule('fs').readFileSync('/etc/passwd', 'utf8') }`,
      ),
      'FAILED',
    )
    expect(err.message).toMatch(/Access to this API has been restricted/)
  })

  it("cannot read the server's source, by fs or by import", async () => {
    for (const path of [serverSource, repoPackage]) {
      const err = await failure(
        pool,
        job(
          'javascript',
          `return { text: process.getBuiltinModule('fs').readFileSync(${JSON.stringify(path)}, 'utf8') }`,
        ),
        'FAILED',
      )
      expect(err.message).toMatch(/restricted/)
    }
    const listing = await failure(
      pool,
      job('javascript', `process.getBuiltinModule('fs').readdirSync('/work')`),
      'FAILED',
    )
    expect(listing.message).toMatch(/restricted/)
    const imported = await failure(
      pool,
      job('javascript', `await import(${JSON.stringify(repoPackage)}, { with: { type: 'json' } })`),
      'FAILED',
    )
    // Or absent: in a mount namespace the repository is not there at all.
    expect(imported.message).toMatch(/restricted|ERR_ACCESS_DENIED|Cannot find module/)
  })

  it('can write, and read back, files in its own temp dir only', async () => {
    const result = await pool.run(
      job(
        'javascript',
        `const fs = process.getBuiltinModule('fs')
         fs.writeFileSync('notes.txt', 'kept')
         let outside = 'written'
         try { fs.writeFileSync('/tmp/escaped.txt', 'x') } catch (err) { outside = err.code }
         return { inside: fs.readFileSync('notes.txt', 'utf8'), outside }`,
      ),
    )
    expect(result.outputs).toEqual({ inside: 'kept', outside: 'ERR_ACCESS_DENIED' })
  })

  it('cannot spawn processes or start workers', async () => {
    const spawn = await failure(
      pool,
      job('javascript', `process.getBuiltinModule('child_process').execSync('id')`),
      'FAILED',
    )
    expect(spawn.message).toMatch(/restricted/)
    const spawnAsync = await failure(
      pool,
      job('javascript', `process.getBuiltinModule('child_process').spawn('sh', ['-c', 'id'])`),
      'FAILED',
    )
    expect(spawnAsync.message).toMatch(/restricted/)
    const worker = await failure(
      pool,
      job('javascript', `new (process.getBuiltinModule('worker_threads').Worker)('1', { eval: true })`),
      'FAILED',
    )
    expect(worker.message).toMatch(/restricted/)
    const binding = await failure(pool, job('javascript', `process.binding('spawn_sync')`), 'FAILED')
    expect(binding.message).toMatch(/process\.binding/)
  })

  it('cannot signal the server (kill, or SIGUSR1 to open its inspector)', async () => {
    for (const call of [
      'process.kill(process.ppid, 0)',
      'process._kill(process.ppid, 0)',
      'process._debugProcess(process.ppid)',
    ]) {
      const err = await failure(pool, job('javascript', call), 'FAILED')
      expect(err.message).toMatch(/is not available in the script sandbox/)
    }
  })

  it('cannot renice the server', async () => {
    const err = await failure(
      pool,
      job('javascript', `process.getBuiltinModule('os').setPriority(process.ppid, 19)`),
      'FAILED',
    )
    expect(err.message).toMatch(/not available/)
    const own = await pool.run(
      job(
        'javascript',
        `const os = await import('node:os')\nos.setPriority(0, 5)\nreturn { p: os.getPriority() }`,
      ),
    )
    expect(own.outputs).toEqual({ p: 5 })
  })

  it('sees a scrubbed environment', async () => {
    expect(process.env.DATABASE_URL).toBe(planted.DATABASE_URL)
    const { outputs } = await pool.run(job('javascript', 'return { env: { ...process.env } }'))
    const env = outputs.env as Record<string, string>
    expect(env.DATABASE_URL).toBeUndefined()
    // bubblewrap sets PWD (the sandbox's own dir) in the environment it hands on.
    expect(Object.keys(env).filter((name) => !['PATH', 'LANG', 'TZ', 'PWD'].includes(name))).toEqual([])
  })
})
