import { coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import type { DataServices } from '../services'
import { writeToStorage } from './storage'
import type { ReportMessage, ReporterSpec } from './types'
import { sendWebhook } from './webhook'

/**
 * Sends a message through every reporter. All are tried even when one fails;
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
      sent.push(
        r.type === 'WEBHOOK'
          ? await sendWebhook(data.egress, r, message, signal)
          : await writeToStorage(data, r, message, signal),
      )
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
