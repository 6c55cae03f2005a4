import { randomBytes } from 'node:crypto'
import type { TestProject } from 'vitest/node'
import postgres from 'postgres'
import { openDatabase } from '../../server/src/db/database'
import { migrate } from '../../server/src/db/migrate'

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string | null
  }
}

/**
 * With DATABASE_URL: migrates one template database per test run; every test
 * file then clones it (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL
  if (!url) {
    project.provide('templateDb', null)
    return
  }
  const name = `sy_tpl_${randomBytes(4).toString('hex')}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const u = new URL(url)
  u.pathname = `/${name}`
  const db = await openDatabase({ databaseUrl: u.toString(), max: 1 })
  await migrate(db)
  await db.close()
  project.provide('templateDb', name)
  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}
