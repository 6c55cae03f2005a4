import type { ResultLimits } from '../limits'

/**
 * Messages between the server and an embedded warehouse's worker thread. The
 * server sends one request at a time and times it: a worker that does not
 * answer within the statement's timeout is terminated (see host.ts).
 */
export type WorkerRequest =
  | { id: number; op: 'open'; dataDir: string }
  | {
      id: number
      op: 'query'
      text: string
      params: unknown[]
      /** Read the result through a cursor under these caps, keeping `keep` rows; else read it whole (platform statements). */
      capped?: { limits: ResultLimits; keep: number }
    }
  | { id: number; op: 'close' }

export interface QueryReply {
  rows: Record<string, unknown>[]
  rowCount: number
}

export type WorkerReply =
  | { id: number; ok: true; result: QueryReply | null }
  | { id: number; ok: false; error: { message: string; code?: string; failure: boolean } }
