import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { type TestDatabase, queueMismatches, testDatabase } from './db'
import { type TestOrg, createOrg } from './fixtures'
import { type NodeProcess, killAllNodes, spawnNode } from './processes'
import { type TestServer, startTestServer } from './server'

export interface WorkerFaultSuite {
  readonly database: TestDatabase
  /** An API-only server: every run is executed by the worker processes. */
  readonly s: TestServer
  readonly org: TestOrg
  /** An editor's token. */
  readonly token: string
  /** A worker process with a 3 s lease, 500 ms poll and 16 slots. */
  worker(): Promise<NodeProcess>
  /** Keeps one core busy (a loaded machine) until stopBurning or the end of the test. */
  burn(): void
  stopBurning(): void
}

/**
 * The setup of the multi-process fault suites, registered as the file's hooks: a database of
 * the file's own, an API-only server, an editor, and after each test every worker process and
 * the CPU burner killed, whatever happened.
 */
export function workerFaultSuite(): WorkerFaultSuite {
  let database: TestDatabase | undefined
  let s: TestServer | undefined
  let org: TestOrg | undefined
  let token: string | undefined
  let burner: ChildProcess | undefined
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the fault suite is used before its beforeAll ran')
    return value
  }
  beforeAll(async () => {
    database = await testDatabase()
    s = await startTestServer({ database, env: { SWITCHYARD_ROLES: 'api' } })
    org = await createOrg(s.db)
    token = await s.login(org.users.editor!.email, org.users.editor!.password)
  })
  const stopBurning = () => {
    burner?.kill('SIGKILL')
    burner = undefined
  }
  afterEach(async () => {
    stopBurning()
    await killAllNodes()
    // Workers killed at any moment leave the hot queue agreeing with the runs.
    expect(await queueMismatches(ready(database).db)).toEqual([])
  })
  afterAll(async () => {
    await s?.stop()
    await database?.drop()
  })
  return {
    get database() {
      return ready(database)
    },
    get s() {
      return ready(s)
    },
    get org() {
      return ready(org)
    },
    get token() {
      return ready(token)
    },
    worker: () =>
      spawnNode({
        databaseUrl: ready(database).url!,
        role: 'worker',
        env: { SWITCHYARD_LEASE_MS: '3000', SWITCHYARD_POLL_MS: '500', SWITCHYARD_WORKER_CONCURRENCY: '16' },
      }),
    burn() {
      stopBurning()
      burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
    },
    stopBurning,
  }
}
