import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deriveKey, open } from '../../server/src/data/crypto'
import { type DataFixture, dataFixture } from '../data/helpers'
import { createAutomation } from '../helpers/automations'
import { type SourceDb, createSourceDb } from '../data/source-db'
import { TEST_SECRET_KEY } from '../helpers/server'

// Issue 12, point 8: `${secret.NAME}` in a datasource's connection string, on the real local PostgreSQL.
// The server trusts local connections, so the secret holds the database name: a wrong value fails.
const ref = (name: string) => ['$', `{secret.${name}}`].join('')
let f: DataFixture
let src: SourceDb
let dbName: string
let dsId: string

const SET = 'mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { __typename } }'
const CREATE = `mutation($i: CreatePostgresDatasourceInput!) { createPostgresDatasource(input: $i) {
  __typename ... on CreatePostgresDatasourceSuccess { datasource { id connection { host database user } } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`
const UPDATE = `mutation($id: ID!, $i: UpdateDatasourceInput!) { updateDatasource(id: $id, input: $i) {
  __typename ... on ValidationError { issues { path message } } ... on Error { message } } }`
const TEST = `mutation($id: ID, $c: String) { testDatasource(id: $id, connectionString: $c) {
  __typename ... on TestDatasourceSuccess { result { ok message } }
  ... on ValidationError { issues { path message } } ... on Error { message } } }`

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_TRIGGER_MIN_INTERVAL_SECONDS: '1' })
  src = await createSourceDb()
  dbName = new URL(src.url).pathname.slice(1)
  await src.sql.unsafe(
    'create table orders (id int primary key, amount int); insert into orders values (1, 10), (2, 32)',
  )
  await f.gql(SET, { n: 'SRC_DB', v: dbName }, f.admin)
})
afterAll(async () => {
  await f?.stop()
  await src?.drop()
})

/** The connection string with its database name replaced by a reference. */
const withRef = (name: string) => {
  const u = new URL(src.url)
  return `${u.protocol}//${u.username}@${u.host}/${ref(name)}`
}

describe('saving a connection string with secret references', () => {
  it('keeps the reference, never the value, and shows the reference', async () => {
    const r = await f.gql<{
      createPostgresDatasource: {
        __typename: string
        datasource: { id: string; connection: { database: string } }
      }
    }>(CREATE, { i: { name: 'src', connectionString: withRef('SRC_DB') } }, f.admin)
    expect(r.createPostgresDatasource.__typename).toBe('CreatePostgresDatasourceSuccess')
    dsId = r.createPostgresDatasource.datasource.id
    expect(r.createPostgresDatasource.datasource.connection).toMatchObject({
      host: '127.0.0.1',
      database: ref('SRC_DB'),
    })
    const [row] = await f.s.db.query<{ secret: string; config: unknown }>(
      'select secret, config from datasources where id = $1',
      [dsId],
    )
    expect(open(deriveKey(Buffer.from(TEST_SECRET_KEY), 'datasource-secrets'), row!.secret, dsId)).toBe(
      withRef('SRC_DB'),
    )
    expect(JSON.stringify(row!.config)).not.toContain(dbName)
    const listed = await f.gql('{ datasources { id connection { host port database user } } }', {}, f.admin)
    expect(JSON.stringify(listed)).not.toContain(dbName)
  })

  it('refuses an unknown secret name, naming the field', async () => {
    const r = await f.gql<{
      createPostgresDatasource: { __typename: string; issues: { path: string; message: string }[] }
    }>(CREATE, { i: { name: 'typo', connectionString: withRef('SRC_DBB') } }, f.admin)
    expect(r.createPostgresDatasource.__typename).toBe('ValidationError')
    expect(r.createPostgresDatasource.issues).toEqual([
      { path: 'connectionString', message: expect.stringContaining(ref('SRC_DBB')) },
    ])
    const u = await f.gql<{ updateDatasource: { __typename: string; issues: { path: string }[] } }>(
      UPDATE,
      { id: dsId, i: { connectionString: withRef('NOPE') } },
      f.admin,
    )
    expect(u.updateDatasource).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: 'connectionString' }],
    })
  })
})

describe('connecting', () => {
  it('fills the secret when a run connects, and records which automation used it', async () => {
    await f.gql(
      'mutation($i: DatasourceGrantInput!) { grantDatasource(input: $i) { __typename } }',
      { i: { datasourceId: dsId, userId: f.org.users.editor!.id, permission: 'USE' } },
      f.admin,
    )
    const run = await f.run('SYNC_SOURCE', {
      source: { datasource: dsId, table: 'orders' },
      target: { storage: 'orders_copy' },
    })
    expect(run.error).toBeNull()
    expect(run.outputs).toMatchObject({ rowsLoaded: 2 })
    const usages = await f.s.db.query<{ name: string; automation_name: string; last_run_id: string }>(
      `select s.name, a.name as automation_name, u.last_run_id from secret_usages u
       join secrets s on s.id = u.secret_id join automations a on a.id = u.automation_id`,
    )
    expect(usages).toEqual([
      { name: 'SRC_DB', automation_name: expect.stringMatching(/^SYNC_SOURCE/), last_run_id: run.id },
    ])
    const tested = await f.gql<{ testDatasource: { result: { ok: boolean } } }>(TEST, { id: dsId }, f.admin)
    expect(tested.testDatasource.result.ok).toBe(true)
  })

  it('a wrong value fails the connection, and no error or log shows it', async () => {
    const wrong = `${dbName}_gone`
    await f.gql(SET, { n: 'SRC_DB', v: wrong }, f.admin)
    try {
      const run = await f.run('SYNC_SOURCE', {
        source: { datasource: dsId, table: 'orders' },
        target: { storage: 'orders_copy2' },
      })
      expect(run.state).toBe('FAILED')
      expect(run.error).toMatch(/database does not exist/)
      expect(JSON.stringify(run)).not.toContain(wrong)
      expect(JSON.stringify(run)).not.toContain(dbName)
      const tested = await f.gql<{ testDatasource: { result: { ok: boolean; message: string } } }>(
        TEST,
        { id: dsId },
        f.admin,
      )
      expect(tested.testDatasource.result).toMatchObject({
        ok: false,
        message: expect.stringContaining('***'),
      })
      expect(tested.testDatasource.result.message).not.toContain(wrong)
      // An unsaved connection string is checked the same way.
      const unsaved = await f.gql<{ testDatasource: { __typename: string; issues: { path: string }[] } }>(
        TEST,
        { c: withRef('MISSING') },
        f.admin,
      )
      expect(unsaved.testDatasource).toMatchObject({
        __typename: 'ValidationError',
        issues: [{ path: 'connectionString' }],
      })
    } finally {
      await f.gql(SET, { n: 'SRC_DB', v: dbName }, f.admin)
    }
  })

  it('a secret deleted after saving fails the run, naming it', async () => {
    await f.gql('mutation { deleteSecret(name: "SRC_DB") { __typename } }', {}, f.admin)
    const run = await f.run('SYNC_SOURCE', {
      source: { datasource: dsId, table: 'orders' },
      target: { storage: 'orders_copy3' },
    })
    expect(run.state).toBe('FAILED')
    expect(run.error).toBe(
      `datasource "src": ${ref('SRC_DB')} is not a secret of this organization; an admin adds it on the Secrets page`,
    )
  })

  it('a trigger watching the datasource fills the secret too, and its recorded error hides it', async () => {
    const wrong = `${dbName}_wrong`
    await f.gql(SET, { n: 'SRC_DB', v: wrong }, f.admin)
    const a = await createAutomation(f.s, f.admin, { name: 'on orders', kind: 'NOOP', config: {} })
    const t = await f.gql<{ createTrigger: { __typename: string } }>(
      'mutation($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { __typename } }',
      {
        a,
        i: {
          type: 'SQL_CHANGE',
          config: { datasource: dsId, query: 'select count(*) from orders', intervalSeconds: 1 },
        },
      },
      f.admin,
    )
    expect(t.createTrigger.__typename).toBe('TriggerPayload')
    const state = async () =>
      (
        await f.s.db.query<{ last_error: string | null; evaluated: boolean }>(
          "select state->>'lastError' as last_error, last_evaluated_at is not null as evaluated from triggers where automation_id = $1",
          [a],
        )
      )[0]!
    await expect
      .poll(async () => (await state()).last_error, { timeout: 20_000, interval: 200 })
      .toMatch(/database does not exist/)
    const failed = (await state()).last_error!
    expect(failed).toContain('***')
    expect(failed).not.toContain(wrong)
    await f.gql(SET, { n: 'SRC_DB', v: dbName }, f.admin)
    await expect.poll(async () => (await state()).last_error, { timeout: 20_000, interval: 200 }).toBeNull()
    const used = await f.s.db.query<{ last_run_id: string | null }>(
      'select last_run_id from secret_usages where automation_id = $1',
      [a],
    )
    expect(used).toEqual([{ last_run_id: null }])
  })
})
