import { coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import { appendRow } from '../../reporters/channels/dataset'
import { postWebhook } from '../../reporters/channels/webhook'
import type { DataServices } from '../services'
import type { ReportMessage, ReporterSpec } from './types'

/** The URL without credentials and query, as ALARM has always shown it. */
const shown = (url: string) => {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.search = ''
  return u.toString()
}

/** ALARM's storage rows: its own columns, one row per run. */
const ALARM_COLUMNS = [
  { name: 'triggered_at', type: 'timestamptz' },
  { name: 'automation_id', type: 'uuid' },
  { name: 'automation', type: 'text' },
  { name: 'run_id', type: 'bigint' },
  { name: 'message', type: 'text' },
  { name: 'value', type: 'double precision' },
  { name: 'threshold', type: 'double precision' },
  { name: 'operator', type: 'text' },
] as const

async function sendOne(
  data: DataServices,
  r: ReporterSpec,
  m: ReportMessage,
  signal: AbortSignal,
): Promise<string> {
  if (r.type === 'WEBHOOK') {
    // The channel code of reporters (reporters/channels/webhook.ts), with ALARM's message as the body.
    await postWebhook(data.egress, {
      url: r.url,
      method: 'POST',
      headers: r.headers,
      body: JSON.stringify(m),
      deliveryKey: `run-${m.runId}`,
      shown: shown(r.url),
      signal,
      timeoutMs: r.timeoutMs,
    })
    return `WEBHOOK ${shown(r.url)}`
  }
  await appendRow(data.warehouse, data.db, {
    orgId: m.organizationId,
    storage: r.storage,
    columns: ALARM_COLUMNS,
    values: [
      m.triggeredAt,
      m.automationId,
      m.automation,
      m.runId,
      m.message,
      m.value,
      m.threshold,
      m.operator,
    ],
    dedupeColumn: 'run_id',
    runId: m.runId,
    automationId: m.automationId,
    signal,
  })
  return `STORAGE ${r.storage}`
}

/**
 * Sends a message through every reporter of an ALARM. All are tried even when one fails;
 * then any failure fails the run, so its retry policy sends again.
 */
export async function report(
  data: DataServices,
  reporters: readonly ReporterSpec[],
  message: ReportMessage,
  signal: AbortSignal,
): Promise<string[]> {
  const sent: string[] = []
  const failed: string[] = []
  for (const r of reporters) {
    try {
      sent.push(await sendOne(data, r, message, signal))
    } catch (err) {
      failed.push(coerceError(err).message)
    }
  }
  if (failed.length > 0) {
    throw new RunFailure(
      `${failed.length} of ${reporters.length} reporter(s) failed: ${failed.join('; ')}${sent.length > 0 ? ` (sent: ${sent.join(', ')})` : ''}`,
    )
  }
  return sent
}
