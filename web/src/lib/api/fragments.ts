// Selections shared by queries and subscriptions, kept next to the types they fill (types.ts).

export const RUN_FIELDS = `
  id state automationId createdAt startedAt finishedAt durationMs triggerSource
  attempt maxAttempts parentRunId step mutexName position error version
  automation { id name kind viewerCanRun }
  triggeredBy { id email }
  runAs { id email }
`

export const AUTOMATION_SUMMARY_FIELDS = `
  id name description kind folderId viewerCanEdit viewerCanRun allowAllUsersToRun updatedAt nextScheduledAt
  parameters { name required default }
`

export const AUTOMATION_FIELDS = `
  ${AUTOMATION_SUMMARY_FIELDS}
  config timeoutMs version createdAt
  parameters { name type required default description allowedValues }
  retry { maxAttempts backoffMs }
  mutex { name policy }
  runAsUser { id email }
  createdBy { id email }
  versions { version createdAt }
`

export const USER_FIELDS = 'id email name role deleted createdAt manageSecrets'
