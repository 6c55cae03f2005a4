import type { Database, Queryable } from '../../../server/src/db/database'

/** Statement and transaction counts of one Database handle, by statement shape. */
export interface Counts {
  statements: number
  transactions: number
  /** Statements by their first words (whitespace collapsed, parameters not shown). */
  byShape: Map<string, number>
}

/**
 * Wraps a Database so every statement and transaction through it is counted:
 * the evidence for "this path costs N round trips". The wrapper adds no await.
 */
export function countingDatabase(inner: Database): { db: Database; counts: Counts; reset(): void } {
  const counts: Counts = { statements: 0, transactions: 0, byShape: new Map() }
  // Statement texts repeat: each is shaped once, so counting costs the measured path little.
  const shapes = new Map<string, string>()
  const note = (text: string) => {
    counts.statements++
    let shape = shapes.get(text)
    if (shape === undefined) {
      shape = text.replace(/\s+/g, ' ').trim().slice(0, 70)
      shapes.set(text, shape)
    }
    counts.byShape.set(shape, (counts.byShape.get(shape) ?? 0) + 1)
  }
  const wrap = (q: Queryable): Queryable => ({
    // opts too: a statement marked last carries its transaction's COMMIT (QueryOptions.last).
    query: (text, params, opts) => {
      note(text)
      return q.query(text, params, opts)
    },
  })
  const db: Database = {
    driver: inner.driver,
    db: inner.db,
    query: (text, params, opts) => {
      note(text)
      return inner.query(text, params, opts)
    },
    transaction: (fn) => {
      counts.transactions++
      return inner.transaction((tx) => fn(wrap(tx)))
    },
    listen: (channel, onPayload, onListen) => inner.listen(channel, onPayload, onListen),
    close: () => inner.close(),
  }
  return {
    db,
    counts,
    reset() {
      counts.statements = 0
      counts.transactions = 0
      counts.byShape.clear()
    },
  }
}

/** The most frequent shapes, "n× shape", for the report. */
export function topShapes(counts: Counts, per: number, limit = 8): string[] {
  return [...counts.byShape.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([shape, n]) => `${(n / per).toFixed(2)}× ${shape}`)
}
