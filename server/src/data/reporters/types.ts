import { z } from 'zod'
import { StorageName } from '../identifiers'

/** What a reporter sends: one message about one run. */
export interface ReportMessage {
  kind: 'ALARM'
  organizationId: string
  automationId: string
  automation: string
  runId: string
  message: string
  value: number | null
  threshold: number
  operator: string
  triggeredAt: string
}

/**
 * Reporters of this issue: a generic webhook (JSON body) and a row written
 * to a storage. Email, Slack, Teams and SMS are later additions to this union.
 */
export const ReporterSpec = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('WEBHOOK'),
    url: z
      .string()
      .max(4000)
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
    headers: z.record(z.string().min(1).max(200), z.string().max(8000)).default({}),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  }),
  z.object({ type: z.literal('STORAGE'), storage: StorageName }),
])
export type ReporterSpec = z.output<typeof ReporterSpec>
