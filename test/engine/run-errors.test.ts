import { describe, expect, it } from 'vitest'
import { runErrorOf } from '../../server/src/engine/execute'
import { RunFailure } from '../../server/src/kinds/kind'
import { createLogger } from '../../server/src/log'

// Issue 11, point 3: "Cannot read properties of undefined" never reaches a run's error.
describe('the error a run records', () => {
  const log = createLogger('silent')

  it('is a plain sentence for a bug in the server (TypeError, ReferenceError), never its text', () => {
    let bug: unknown
    try {
      const missing = undefined as unknown as { x: { y: number } }
      missing.x.y
    } catch (err) {
      bug = err
    }
    expect(bug).toBeInstanceOf(TypeError)
    const recorded = runErrorOf(bug, 'FILE_IMPORT', log)
    expect(recorded).toBe(
      'internal error while running this FILE_IMPORT step; the server log has the details',
    )
    expect(recorded).not.toMatch(/Cannot read properties|undefined/)
    expect(runErrorOf(new ReferenceError('nope is not defined'), 'SQL', log)).toMatch(/^internal error/)
  })

  it('keeps the message of expected failures and of other errors', () => {
    expect(runErrorOf(new RunFailure('datasource "sales" is not granted'), 'SQL', log)).toBe(
      'datasource "sales" is not granted',
    )
    expect(runErrorOf(new Error('SQL error 42P01: relation "x" does not exist'), 'SQL', log)).toBe(
      'SQL error 42P01: relation "x" does not exist',
    )
  })
})
