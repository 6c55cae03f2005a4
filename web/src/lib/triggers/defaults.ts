import type { JsonObject } from '$lib/api/types'
import type { TriggerType } from './api'

/** A starting config per trigger type, so a new trigger is one edit away from valid. */
export function defaultTriggerConfig(type: TriggerType): JsonObject {
  switch (type) {
    case 'CRON':
      return {
        cron: '0 6 * * *',
        timezone: browserTimezone(),
        missedTickPolicy: 'ONCE',
        overlapPolicy: 'SKIP',
      }
    case 'WEBHOOK':
      return {}
    case 'AFTER_AUTOMATION':
      return { automationId: '', on: 'SUCCESS' }
    case 'DATASET_CHANGE':
      return {
        table: '',
        fingerprint: 'ROW_COUNT_AND_MAX',
        intervalSeconds: 300,
        graceSeconds: 0,
        recheck: false,
      }
    case 'SQL_CHANGE':
      return { query: 'select max(updated_at) from orders', intervalSeconds: 300 }
    case 'CODE':
      return {
        language: 'javascript',
        code: '// Return { fire, parameters?, state? }; state comes back as variables.state next time.\nreturn { fire: new Date().getUTCHours() === 6 }\n',
        intervalSeconds: 300,
      }
  }
}

/** Empty optional strings are left out, so the server's defaults apply instead of "" failing validation. */
export function cleanConfig(config: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== '' && v !== null))
}

export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** One line that says what a trigger does, for the list. */
export function describeTrigger(t: {
  type: TriggerType
  config: JsonObject
  watchedAutomation: { name: string } | null
}): string {
  const c = t.config
  switch (t.type) {
    case 'CRON':
      return `${c.cron} (${c.timezone ?? 'UTC'}) · missed: ${c.missedTickPolicy} · overlap: ${c.overlapPolicy}`
    case 'WEBHOOK':
      return c.bodyParameter ? `body → parameter ${c.bodyParameter}` : 'body → parameters'
    case 'AFTER_AUTOMATION':
      return `after ${t.watchedAutomation?.name ?? 'a deleted or hidden automation'} on ${c.on}`
    case 'DATASET_CHANGE':
      return `${c.table} (${c.fingerprint}) every ${c.intervalSeconds} s, grace ${c.graceSeconds ?? 0} s`
    case 'SQL_CHANGE':
      return `query result, every ${c.intervalSeconds} s`
    case 'CODE':
      return `${c.language} script, every ${c.intervalSeconds} s`
  }
}
