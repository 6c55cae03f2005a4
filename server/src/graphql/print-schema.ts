import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { printSchema } from 'graphql'
import { schema } from './schema'

/** Writes server/schema.graphql; a test fails when the committed file is stale. */
export const SCHEMA_FILE = fileURLToPath(new URL('../../schema.graphql', import.meta.url))
export const printedSchema = (): string => `${printSchema(schema)}\n`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--stdout')) process.stdout.write(printedSchema())
  else {
    writeFileSync(SCHEMA_FILE, printedSchema())
    console.log(`wrote ${SCHEMA_FILE}`)
  }
}
