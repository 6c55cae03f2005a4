import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { type SourceDb, createSourceDb } from '../data/source-db'
import { CREATE } from '../helpers/automations'
import { createWorkflow, runWorkflow, stepOf } from './helpers'

// Issue 14: an inline SQL step runs on a datasource, under the SQL kind's rules there: the
// run-as user's grant, read-only, the egress policy, secrets in the connection string.
// The datasource is a database of its own on the real local PostgreSQL; the server trusts
// local connections, so the secret holds the database name and a wrong one fails.
const ref = (name: string) => ['$', `{secret.${name}}`].join('')
let f: DataFixture
let src: SourceDb
let granted: string
let ungranted: string

const CREATE_DS = `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
  ... on CreatePostgresDatasourceSuccess { datasource { id } } ... on Error { message } } }`
const GRANT = `mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) {
  ... on GrantDatasourceSuccess { grant { id } } ... on Error { message } } }`

async function datasource(name: string, connectionString: string): Promise<string> {
  const r = await f.gql<{ createPostgresDatasource: { datasource?: { id: string }; message?: string } }>(
    CREATE_DS,
    { i: { name, connectionString } },
    f.admin,
  )
  const id = r.createPostgresDatasource.datasource?.id
  if (!id) throw new Error(`createPostgresDatasource: ${JSON.stringify(r)}`)
  return id
}

/** Saves a workflow as the editor; returns the ValidationError's issues, or [] when it saved. */
async function saveIssues(config: Record<string, unknown>): Promise<{ path: string; message: string }[]> {
  const r = await f.s.gql<{
    createAutomation: { __typename: string; issues?: { path: string; message: string }[] }
  }>(
    CREATE,
    { i: { name: `wf-${Math.random().toString(36).slice(2)}`, kind: 'WORKFLOW', config } },
    { token: f.editor },
  )
  return r.data?.createAutomation.issues ?? []
}

beforeAll(async () => {
  f = await dataFixture()
  src = await createSourceDb()
  await src.sql.unsafe(
    'create table orders (id int primary key, amount int); insert into orders values (1, 10), (2, 32)',
  )
  await f.gql(
    'mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { __typename } }',
    { n: 'SRC_DB', v: new URL(src.url).pathname.slice(1) },
    f.admin,
  )
  const u = new URL(src.url)
  granted = await datasource('orders db', `${u.protocol}//${u.username}@${u.host}/${ref('SRC_DB')}`)
  ungranted = await datasource('finance db', src.url)
  const g = await f.gql<{ grantDatasource: { grant?: { id: string } } }>(
    GRANT,
    { i: { datasourceId: granted, userId: f.org.users.editor!.id, permission: 'USE' } },
    f.admin,
  )
  expect(g.grantDatasource.grant?.id).toBeTruthy()
}, 60_000)
afterAll(async () => {
  await f?.stop()
  await src?.drop()
})

describe('inline SQL steps on a PostgreSQL datasource', () => {
  it('reads the datasource as the run-as user, saves its first value, and a warehouse step uses it', async () => {
    const id = await createWorkflow(f.s, f.editor, 'orders total', {
      steps: [
        {
          name: 'total',
          sql: {
            datasource: granted,
            statement: 'select sum(amount)::int as total from orders where id > ${min}',
          },
          parameters: { min: 0 },
          saveAs: { variable: 'total' },
        },
        {
          name: 'doubled',
          sql: { statement: 'select ${t}::int * 2 as doubled' },
          parameters: { t: '${variables.total}' },
        },
      ],
      edges: [{ from: 'total', to: 'doubled' }],
    })
    const run = await runWorkflow(f.s, f.editor, id)
    expect(run.error).toBeNull()
    expect(run.state).toBe('SUCCEEDED')
    expect(stepOf(run, 'total').outputs).toEqual({ rowCount: 1, rows: [{ total: 42 }] })
    expect(run.outputs?.variables).toEqual({ total: 42 })
    expect(stepOf(run, 'doubled').outputs).toEqual({ rowCount: 1, rows: [{ doubled: 84 }] })
    // The connection string's secret was opened for this run, and the use recorded on the workflow.
    const usages = await f.s.db.query<{ automation_id: string; last_run_id: string }>(
      `select u.automation_id, u.last_run_id from secret_usages u join secrets s on s.id = u.secret_id
       where s.name = 'SRC_DB'`,
    )
    expect(usages).toEqual([{ automation_id: id, last_run_id: stepOf(run, 'total').runs[0]!.id }])
  })

  it('is the SQL kind on a datasource: an SQL automation names one the same way', async () => {
    const run = await f.run('SQL', {
      datasource: granted,
      statement: 'select id from orders order by id',
      maxRows: 1,
    })
    expect(run.state).toBe('SUCCEEDED')
    expect(run.outputs).toEqual({ rowCount: 2, rows: [{ id: 1 }] })
    const r = await f.s.gql<{ createAutomation: { issues?: { path: string }[] } }>(
      CREATE,
      { i: { name: 'sql finance', kind: 'SQL', config: { datasource: ungranted, statement: 'select 1' } } },
      { token: f.editor },
    )
    expect(r.data?.createAutomation.issues).toEqual([
      { path: 'config.datasource', message: expect.any(String) },
    ])
  })

  it('is read-only on the datasource, as the SQL kind is there', async () => {
    const id = await createWorkflow(f.s, f.editor, 'orders write', {
      steps: [{ name: 'write', sql: { datasource: granted, statement: 'insert into orders values (3, 1)' } }],
    })
    const run = await runWorkflow(f.s, f.editor, id)
    expect(run.state).toBe('FAILED')
    expect(stepOf(run, 'write').error).toMatch(
      /^SQL error on datasource "orders db" 25006: cannot execute INSERT in a read-only transaction/,
    )
    const [{ n }] = (await src.sql`select count(*)::int as n from orders`) as unknown as [{ n: number }]
    expect(n).toBe(2)
  })

  it('refuses at save an unknown datasource and one the saver has no grant to use, naming the step', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000'
    for (const ds of [unknown, ungranted]) {
      const issues = await saveIssues({
        steps: [
          { name: 'first', sql: { statement: 'select 1' } },
          { name: 'read', sql: { datasource: ds, statement: 'select 1' } },
        ],
        edges: [{ from: 'first', to: 'read' }],
      })
      expect(issues).toEqual([
        {
          path: 'config.steps.1.sql.datasource',
          message: `step "read": no datasource ${ds} that you may use (an admin or its creator grants USE on it)`,
        },
      ])
    }
    // The admin manages every datasource: the same workflow saves.
    const r = await f.s.gql<{ createAutomation: { __typename: string } }>(
      CREATE,
      {
        i: {
          name: 'admin reads finance',
          kind: 'WORKFLOW',
          config: { steps: [{ name: 'read', sql: { datasource: ungranted, statement: 'select 1' } }] },
        },
      },
      { token: f.admin },
    )
    expect(r.data?.createAutomation.__typename).toBe('CreateAutomationSuccess')
  })

  it('fails the step when the grant was revoked after the save, or the egress policy refuses the host', async () => {
    const extra = await f.gql<{ grantDatasource: { grant: { id: string } } }>(
      GRANT,
      { i: { datasourceId: ungranted, userId: f.org.users.editor!.id, permission: 'USE' } },
      f.admin,
    )
    const id = await createWorkflow(f.s, f.editor, 'finance read', {
      steps: [{ name: 'read', sql: { datasource: ungranted, statement: 'select count(*) from orders' } }],
    })
    await f.gql(
      'mutation($id: ID!) { revokeDatasourceGrant(id: $id) { __typename } }',
      { id: extra.grantDatasource.grant.id },
      f.admin,
    )
    const revoked = await runWorkflow(f.s, f.editor, id)
    expect(revoked.state).toBe('FAILED')
    expect(stepOf(revoked, 'read').error).toBe(
      'datasource "finance db" is not granted to the user this run runs as',
    )

    // Link-local (cloud metadata) addresses are refused by the egress policy before any dial.
    const metadata = await datasource('metadata', 'postgres://u@169.254.169.254:5432/x')
    await f.gql(
      GRANT,
      { i: { datasourceId: metadata, userId: f.org.users.editor!.id, permission: 'USE' } },
      f.admin,
    )
    const blocked = await runWorkflow(
      f.s,
      f.editor,
      await createWorkflow(f.s, f.editor, 'metadata read', {
        steps: [{ name: 'read', sql: { datasource: metadata, statement: 'select 1' } }],
      }),
    )
    expect(blocked.state).toBe('FAILED')
    expect(stepOf(blocked, 'read').error).toMatch(
      /^could not connect to datasource "metadata" \(169\.254\.169\.254:5432\/x\): .*169\.254\.169\.254/,
    )
  })
})
