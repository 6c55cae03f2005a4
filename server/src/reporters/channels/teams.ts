import { z } from 'zod'
import { UrlOrSecret } from '../domain'
import { type ChannelServices, type Outgoing, type Sent, defineChannel } from './channel'
import { request, sent, shownUrl } from './http'

interface Ctx {
  automation?: { name?: string; url?: string }
  run?: {
    id?: string
    state?: string
    url?: string
    attempt?: number
    duration?: string
    triggerSource?: string
  }
  event?: string
}

/**
 * The Teams message: an Adaptive Card with a title, the rendered template (Teams renders
 * a markdown subset in TextBlocks), the run's facts and a button to open it. A template
 * that renders an AdaptiveCard object is sent as the card.
 */
export function teamsPayload(m: Pick<Outgoing, 'body' | 'context'>): Record<string, unknown> {
  const body = m.body.trim()
  let card: Record<string, unknown> | undefined
  if (body.startsWith('{')) {
    try {
      const own = JSON.parse(body) as Record<string, unknown>
      if (own?.type === 'AdaptiveCard') card = own
    } catch {
      // Plain text that starts with a brace.
    }
  }
  if (!card) {
    const c = m.context as Ctx
    const ok = c.run?.state === 'SUCCEEDED'
    card = {
      type: 'AdaptiveCard',
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      version: '1.4',
      body: [
        {
          type: 'TextBlock',
          size: 'Medium',
          weight: 'Bolder',
          text: `${c.automation?.name ?? 'Automation'}: ${c.event === 'START' ? 'started' : (c.run?.state ?? '')}`,
          color: c.event === 'START' ? 'Default' : ok ? 'Good' : 'Attention',
          wrap: true,
        },
        ...(body ? [{ type: 'TextBlock', text: body, wrap: true }] : []),
        {
          type: 'FactSet',
          facts: [
            { title: 'Run', value: `#${c.run?.id ?? '?'}` },
            { title: 'State', value: c.run?.state ?? '' },
            { title: 'Attempt', value: String(c.run?.attempt ?? 1) },
            ...(c.run?.duration ? [{ title: 'Duration', value: c.run.duration }] : []),
            { title: 'Trigger', value: c.run?.triggerSource ?? '' },
          ],
        },
      ],
      actions: c.run?.url ? [{ type: 'Action.OpenUrl', title: 'Open the run', url: c.run.url }] : [],
    }
  }
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  }
}

export const teams = defineChannel({
  type: 'TEAMS',
  /** An incoming webhook or a Workflows ("When a Teams webhook request is received") URL. */
  connectionSchema: z.object({ webhookUrl: UrlOrSecret }),
  targetSchema: z.object({}).default({}),
  templateMode: 'plain',
  defaultTemplate: `{% if event == "START" %}**{{ automation.name }}** started.{% else %}**{{ automation.name }}** ended **{{ run.state }}** after {{ run.duration }}.{% if run.error %}

{{ run.error | truncate: 1500 }}{% endif %}{% for c in checks %}
- {{ c.name }}: **{{ c.outcome }}** {{ c.message }}{% endfor %}{% for s in steps %}
- step {{ s.step }} {{ s.automation }}: **{{ s.state }}**{% endfor %}{% endif %}`,
  templatesOf: () => ({}),
  send: sendTeams,
  test: (conn, _target, m, services) => sendTeams(conn, {}, m, services),
})

async function sendTeams(
  conn: { webhookUrl: string },
  _target: unknown,
  m: Outgoing,
  services: ChannelServices,
): Promise<Sent> {
  const res = await request(
    services.egress,
    conn.webhookUrl,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'switchyard' },
      body: JSON.stringify(teamsPayload(m)),
      signal: m.signal,
      timeoutMs: m.timeoutMs,
    },
    'Teams webhook',
  )
  return sent(res.status, `Teams webhook ${shownUrl(conn.webhookUrl)}`)
}
