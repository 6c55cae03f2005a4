import { z } from 'zod'
import { SecretRef, UrlOrSecret } from '../domain'
import { type ChannelServices, DeliveryError, type Outgoing, type Sent, defineChannel } from './channel'
import { request, sent, shownUrl } from './http'

interface Ctx {
  automation?: { name?: string }
  run?: { id?: string; state?: string; url?: string; attempt?: number }
  event?: string
}

/**
 * The Block Kit message: a header, the rendered template as mrkdwn, a context line with
 * a link to the run. A template that renders a JSON object with `blocks` is sent as is.
 */
export function slackPayload(m: Pick<Outgoing, 'body' | 'context'>): Record<string, unknown> {
  const body = m.body.trim()
  if (body.startsWith('{')) {
    try {
      const own = JSON.parse(body) as Record<string, unknown>
      if (own && typeof own === 'object' && Array.isArray(own.blocks)) return own
    } catch {
      // Not JSON after all: plain mrkdwn that starts with a brace.
    }
  }
  const c = m.context as Ctx
  const title = `${c.automation?.name ?? 'Automation'}: ${c.event === 'START' ? 'started' : (c.run?.state ?? '')}`
  return {
    text: body.slice(0, 3000) || title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
      ...(body ? [{ type: 'section', text: { type: 'mrkdwn', text: body.slice(0, 3000) } }] : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Switchyard · run #${c.run?.id ?? '?'}${c.run?.attempt ? ` · attempt ${c.run.attempt}` : ''}${c.run?.url ? ` · <${c.run.url}|open the run>` : ''}`,
          },
        ],
      },
    ],
  }
}

const Connection = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('WEBHOOK'), webhookUrl: UrlOrSecret }),
  z.object({
    mode: z.literal('BOT'),
    botToken: SecretRef,
    /** Slack's Web API; only changed to reach a test double or a proxy. */
    apiUrl: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
      .default('https://slack.com/api'),
  }),
])

export const slack = defineChannel({
  type: 'SLACK',
  connectionSchema: Connection,
  targetSchema: z
    .object({
      /** For a bot: a channel id or #name. Incoming webhooks post where they were made for. */
      channel: z.string().min(1).max(200).optional(),
    })
    .default({}),
  templateMode: 'plain',
  defaultTemplate: `{% if event == "START" %}:arrow_forward: *{{ automation.name }}* started (run <{{ run.url }}|#{{ run.id }}>, {{ run.triggerSource }}){% else %}{% if run.state == "SUCCEEDED" %}:white_check_mark:{% else %}:red_circle:{% endif %} *{{ automation.name }}* ended *{{ run.state }}* after {{ run.duration }} (run <{{ run.url }}|#{{ run.id }}>){% if run.error %}
\`\`\`{{ run.error | truncate: 1500 }}\`\`\`{% endif %}{% for c in checks %}
• {{ c.name }}: *{{ c.outcome }}* {{ c.message }}{% endfor %}{% for s in steps %}
• step {{ s.step }} {{ s.automation }}: *{{ s.state }}*{% endfor %}{% endif %}`,
  templatesOf: () => ({}),
  send: sendSlack,
  async test(conn, target, m, services) {
    if (conn.mode === 'WEBHOOK') return sendSlack(conn, target ?? {}, m, services)
    return callApi(conn, 'auth.test', {}, m, services)
  },
})

async function sendSlack(
  conn: z.output<typeof Connection>,
  target: { channel?: string | undefined },
  m: Outgoing,
  services: ChannelServices,
): Promise<Sent> {
  const payload = slackPayload(m)
  if (conn.mode === 'WEBHOOK') {
    const res = await request(
      services.egress,
      conn.webhookUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'switchyard' },
        body: JSON.stringify(payload),
        signal: m.signal,
        timeoutMs: m.timeoutMs,
      },
      'Slack webhook',
    )
    return sent(res.status, `Slack webhook ${shownUrl(conn.webhookUrl)}`)
  }
  if (!target.channel) throw new DeliveryError('a Slack bot needs a channel in the reporter', false)
  return callApi(conn, 'chat.postMessage', { channel: target.channel, ...payload }, m, services)
}

/** Slack's Web API answers 200 with `ok: false` on errors; `ratelimited` is worth a retry. */
async function callApi(
  conn: { botToken: string; apiUrl: string },
  method: string,
  body: Record<string, unknown>,
  m: Outgoing,
  services: ChannelServices,
): Promise<Sent> {
  const res = await request(
    services.egress,
    `${conn.apiUrl.replace(/\/$/, '')}/${method}`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${conn.botToken}`,
        'user-agent': 'switchyard',
      },
      body: JSON.stringify(body),
      signal: m.signal,
      timeoutMs: m.timeoutMs,
    },
    `Slack ${method}`,
  )
  let answer: { ok?: boolean; error?: string }
  try {
    answer = JSON.parse(res.text) as typeof answer
  } catch {
    throw new DeliveryError(`Slack ${method}: the answer was not JSON`, true, res.status)
  }
  if (!answer.ok)
    throw new DeliveryError(
      `Slack ${method}: ${answer.error ?? 'not ok'}`,
      answer.error === 'ratelimited',
      res.status,
    )
  return sent(res.status, `Slack ${method}${body.channel ? ` to ${String(body.channel)}` : ''}`)
}
