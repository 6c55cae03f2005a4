import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN, createAutomation, runAutomation, runWatched, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, collect, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let other: TestOrg
let editor: string
let viewer: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  other = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
})
afterAll(() => s?.stop())

describe('running automations', () => {
  it('runs a SCRIPT with parameters, logs and outputs, recording the version it ran', async () => {
    const id = await createAutomation(s, editor, {
      name: 'greet',
      kind: 'SCRIPT',
      config: {
        language: 'typescript',
        code: "const n: string = params.name\nlog('hi', n)\nsetOutput('who', n)\nreturn { by: triggered_by_user }",
      },
      parameters: [{ name: 'name', type: 'STRING', required: true }],
    })
    const runId = await runAutomation(s, editor, id, { name: 'Ada' })
    const run = await waitForRun(s, editor, runId)
    expect(run.state).toBe('SUCCEEDED')
    expect(run.outputs).toEqual({ who: 'Ada', by: org.users.editor!.id })
    expect(run.logs.map((l) => l.message)).toContain('hi Ada')
    expect(run.version).toBe(1)
    expect(run.triggeredBy?.email).toBe(org.users.editor!.email)
    expect(run.runAs?.email).toBe(org.users.editor!.email)
    expect(run.triggerSource).toBe('MANUAL')
  })

  it('validates run parameters before queueing anything', async () => {
    const id = await createAutomation(s, editor, {
      name: 'typed',
      kind: 'NOOP',
      config: {},
      parameters: [{ name: 'n', type: 'NUMBER', required: true }],
    })
    const r = await s.gql<{
      runAutomation: { __typename: string; issues: { path: string; message: string }[] }
    }>(RUN, { id, p: { n: 'x', extra: 1 } }, { token: editor })
    expect(r.data?.runAutomation.__typename).toBe('ValidationError')
    expect(r.data?.runAutomation.issues).toEqual(
      expect.arrayContaining([
        { path: 'parameters.n', message: 'must be a number' },
        { path: 'parameters.extra', message: 'is not a declared parameter' },
      ]),
    )
    expect(await s.db.query('select 1 from runs where automation_id = $1', [id])).toHaveLength(0)
  })

  it('fails a script with its error message and retries with backoff while attempts remain', async () => {
    const id = await createAutomation(s, editor, {
      name: 'flaky',
      kind: 'SCRIPT',
      config: { code: "fail('upstream is down')" },
      retry: { maxAttempts: 2, backoffMs: 50 },
    })
    const run = await waitForRun(s, editor, await runAutomation(s, editor, id))
    expect(run.state).toBe('FAILED')
    expect(run.attempt).toBe(2)
    expect(run.error).toContain('upstream is down')
  })

  it('times out a run that runs too long', async () => {
    const id = await createAutomation(s, editor, {
      name: 'slow',
      kind: 'NOOP',
      config: { sleepMs: 10_000 },
      timeoutMs: 300,
    })
    const run = await waitForRun(s, editor, await runAutomation(s, editor, id))
    expect(run.state).toBe('TIMED_OUT')
  })

  it('cancels a running run', async () => {
    const id = await createAutomation(s, editor, { name: 'long', kind: 'NOOP', config: { sleepMs: 20_000 } })
    const runId = await runAutomation(s, editor, id)
    await waitForRun(s, editor, runId, ['RUNNING'])
    const c = await s.gql<{ cancelRun: { __typename: string } }>(
      `mutation { cancelRun(id: "${runId}") { __typename } }`,
      {},
      { token: editor },
    )
    expect(c.data?.cancelRun.__typename).toBe('CancelRunSuccess')
    expect((await waitForRun(s, editor, runId)).state).toBe('CANCELLED')
  })
})

describe('chains', () => {
  it('runs children in order and succeeds', async () => {
    const a = await createAutomation(s, editor, {
      name: 'c-a',
      kind: 'SCRIPT',
      config: { code: "setOutput('step', 'a')" },
    })
    const b = await createAutomation(s, editor, { name: 'c-b', kind: 'NOOP', config: {} })
    const chain = await createAutomation(s, editor, {
      name: 'chain-ok',
      kind: 'CHAIN',
      config: { children: [a, b] },
    })
    const run = await waitForRun(s, editor, await runAutomation(s, editor, chain))
    expect(run.state).toBe('SUCCEEDED')
    expect(run.children.map((c) => [c.step, c.state])).toEqual([
      [0, 'SUCCEEDED'],
      [1, 'SUCCEEDED'],
    ])
  })

  it('stops at the first failed child, fails the chain and records the rest SKIPPED', async () => {
    const ok = await createAutomation(s, editor, { name: 'f-ok', kind: 'NOOP', config: {} })
    const bad = await createAutomation(s, editor, { name: 'f-bad', kind: 'NOOP', config: { fail: 'boom' } })
    const never = await createAutomation(s, editor, { name: 'f-never', kind: 'NOOP', config: {} })
    const chain = await createAutomation(s, editor, {
      name: 'chain-bad',
      kind: 'CHAIN',
      config: { children: [ok, bad, never, never] },
    })
    const run = await waitForRun(s, editor, await runAutomation(s, editor, chain))
    expect(run.state).toBe('FAILED')
    expect(run.error).toContain('boom')
    expect(run.children.map((c) => c.state)).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED', 'SKIPPED'])
  })

  it('cancelling a chain cancels its running child', async () => {
    const slow = await createAutomation(s, editor, {
      name: 'x-slow',
      kind: 'NOOP',
      config: { sleepMs: 20_000 },
    })
    const after = await createAutomation(s, editor, { name: 'x-after', kind: 'NOOP', config: {} })
    const chain = await createAutomation(s, editor, {
      name: 'chain-cancel',
      kind: 'CHAIN',
      config: { children: [slow, after] },
    })
    const runId = await runAutomation(s, editor, chain)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const [child] = await s.db.query<{ state: string }>('select state from runs where parent_run_id = $1', [
        runId,
      ])
      if (child?.state === 'RUNNING') break
      await new Promise((r) => setTimeout(r, 50))
    }
    await s.gql(`mutation { cancelRun(id: "${runId}") { __typename } }`, {}, { token: editor })
    const run = await waitForRun(s, editor, runId)
    expect(run.state).toBe('CANCELLED')
    expect(run.children.map((c) => c.state)).toEqual(['CANCELLED', 'SKIPPED'])
  })
})

describe('retryRun', () => {
  const RETRY = `mutation($id: ID!) { retryRun(id: $id) { __typename
    ... on RetryRunSuccess { run { id } } ... on Error { message } } }`

  it('runs a failed run again as a new run with the same version and parameters', async () => {
    const id = await createAutomation(s, editor, {
      name: 'retry me',
      kind: 'SCRIPT',
      config: { code: "if (params.n > 1) fail('too big')\nsetOutput('n', params.n)" },
      parameters: [{ name: 'n', type: 'NUMBER', required: true }],
    })
    const failed = await waitForRun(s, editor, await runAutomation(s, editor, id, { n: 2 }))
    expect(failed.state).toBe('FAILED')
    const r = await s.gql<{ retryRun: { __typename: string; run?: { id: string } } }>(
      RETRY,
      { id: failed.id },
      { token: editor },
    )
    expect(r.data!.retryRun.__typename).toBe('RetryRunSuccess')
    const again = await waitForRun(s, editor, r.data!.retryRun.run!.id)
    expect(again.id).not.toBe(failed.id)
    expect(again.triggerSource).toBe('RETRY')
    expect(again.version).toBe(failed.version)
    expect(again.parameters).toEqual({ n: 2 })
    expect(again.state).toBe('FAILED')

    // Only ended runs that did not succeed, and never another organization's.
    const ok = await waitForRun(s, editor, await runAutomation(s, editor, id, { n: 1 }))
    const refused = await s.gql<{ retryRun: { __typename: string } }>(RETRY, { id: ok.id }, { token: editor })
    expect(refused.data!.retryRun.__typename).toBe('ValidationError')
    const stranger = await s.login(other.users.editor!.email, other.users.editor!.password)
    const hidden = await s.gql<{ retryRun: { __typename: string } }>(
      RETRY,
      { id: failed.id },
      { token: stranger },
    )
    expect(hidden.data!.retryRun.__typename).toBe('NotFoundError')
    const byViewer = await s.gql<{ retryRun: { __typename: string } }>(
      RETRY,
      { id: failed.id },
      { token: viewer },
    )
    expect(byViewer.data!.retryRun.__typename).toBe('ForbiddenError')
  })
})

describe('run-as and permissions', () => {
  it('a VIEWER cannot run an automation that does not allow all users', async () => {
    const id = await createAutomation(s, editor, { name: 'private', kind: 'NOOP', config: {} })
    const r = await s.gql<{ runAutomation: { __typename: string } }>(RUN, { id }, { token: viewer })
    expect(r.data?.runAutomation.__typename).toBe('ForbiddenError')
  })

  it('"allow all users to run": a VIEWER runs it as the run-as user and is recorded as the trigger', async () => {
    const id = await createAutomation(s, editor, {
      name: 'public',
      kind: 'SCRIPT',
      config: { code: "setOutput('u', triggered_by_user)" },
      allowAllUsersToRun: true,
    })
    const run = await waitForRun(s, viewer, await runAutomation(s, viewer, id))
    expect(run.state).toBe('SUCCEEDED')
    expect(run.triggeredBy?.email).toBe(org.users.viewer!.email)
    expect(run.runAs?.email).toBe(org.users.editor!.email)
    expect(run.outputs).toEqual({ u: org.users.viewer!.id })
  })

  it('falls back to the first admin when the run-as user is deleted', async () => {
    const adminToken = await s.login(org.users.admin!.email, org.users.admin!.password)
    const tmp = await s.gql<{ createUser: { user: { id: string } } }>(
      'mutation { createUser(email: "gone@example.test", name: "Gone", role: EDITOR, password: "password-gone") { ... on CreateUserPayload { user { id } } } }',
      {},
      { token: adminToken },
    )
    const goneToken = await s.login('gone@example.test', 'password-gone')
    const id = await createAutomation(s, goneToken, {
      name: 'orphan',
      kind: 'NOOP',
      config: {},
      allowAllUsersToRun: true,
    })
    await s.gql(
      `mutation { deleteUser(id: "${tmp.data!.createUser.user.id}") { __typename } }`,
      {},
      { token: adminToken },
    )
    const run = await waitForRun(s, viewer, await runAutomation(s, viewer, id))
    expect(run.runAs?.email).toBe(org.users.admin!.email)
  })

  it('another organization can neither see, run, cancel nor subscribe to runs', async () => {
    const id = await createAutomation(s, editor, {
      name: 'mine',
      kind: 'NOOP',
      config: {},
      allowAllUsersToRun: true,
    })
    const runId = await runAutomation(s, editor, id)
    const outsider = await s.login(other.users.admin!.email, other.users.admin!.password)
    expect((await s.gql(`{ run(id: "${runId}") { id } }`, {}, { token: outsider })).data).toEqual({
      run: null,
    })
    expect(
      (await s.gql(`query($id: ID!) { automation(id: $id) { id } }`, { id }, { token: outsider })).data,
    ).toEqual({ automation: null })
    const run = await s.gql<{ runAutomation: { __typename: string } }>(RUN, { id }, { token: outsider })
    expect(run.data?.runAutomation.__typename).toBe('NotFoundError')
    const cancel = await s.gql<{ cancelRun: { __typename: string } }>(
      `mutation { cancelRun(id: "${runId}") { __typename } }`,
      {},
      { token: outsider },
    )
    expect(cancel.data?.cancelRun.__typename).toBe('NotFoundError')
    const runs = await s.gql<{ runs: { edges: unknown[] } }>(
      '{ runs { edges { node { id } } } }',
      {},
      { token: outsider },
    )
    expect(runs.data?.runs.edges).toEqual([])
    await expect(
      collect(
        s.wsClient(outsider),
        'subscription($id: ID!) { runUpdated(runId: $id) { id } }',
        { id: runId },
        () => true,
        5000,
      ),
    ).rejects.toThrow(/not found/i)
  })
})

describe('live status', () => {
  it('streams state changes and log lines over graphql-ws', async () => {
    const id = await createAutomation(s, editor, {
      name: 'live',
      kind: 'SCRIPT',
      config: { code: "log('one')\nawait new Promise(r => setTimeout(r, 300))\nlog('two')" },
    })
    const { lines } = await runWatched(s, editor, id, 2)
    expect(lines).toEqual(['one', 'two'])
  })
})
