/**
 * The URL to POST to for a webhook token. Built from the address the dashboard
 * is served at, which is where /hooks/ is served too.
 */
export function webhookUrl(token: string, origin = location.origin): string {
  return `${origin}/hooks/${token}`
}

/** A curl call of the webhook that waits up to `wait` seconds for the run's outcome. */
export function curlExample(url: string, body: Record<string, unknown> = {}, wait = 30): string {
  return [
    `curl -s -X POST '${url}?wait=${wait}' \\`,
    `  -H 'content-type: application/json' \\`,
    `  -d '${JSON.stringify(body).replaceAll("'", "'\\''")}'`,
  ].join('\n')
}
