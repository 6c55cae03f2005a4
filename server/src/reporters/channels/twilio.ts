import { z } from 'zod'
import { SecretRef } from '../domain'
import { defineChannel } from './channel'
import { request, sent } from './http'

const Phone = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be a phone number in E.164 form (+41791234567)')

export const twilio = defineChannel({
  type: 'TWILIO_SMS',
  connectionSchema: z.object({
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio account SID (AC + 32 hex digits)'),
    authToken: SecretRef,
    from: Phone.or(z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'or a messaging service SID')),
    /** Twilio's REST API; only changed to reach a test double or a proxy. */
    apiUrl: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
      .default('https://api.twilio.com'),
  }),
  targetSchema: z.object({ to: z.array(Phone).min(1, 'give at least one number').max(20) }),
  templateMode: 'plain',
  defaultTemplate:
    '{{ automation.name }}: {% if event == "START" %}started{% else %}{{ run.state }} after {{ run.duration }}{% endif %} (run #{{ run.id }}){% if run.error %} {{ run.error | truncate: 100 }}{% endif %} {{ run.url }}',
  templatesOf: () => ({}),
  async send(conn, target, m, services) {
    const base = `${conn.apiUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${conn.accountSid}`
    const auth = `Basic ${Buffer.from(`${conn.accountSid}:${conn.authToken}`).toString('base64')}`
    let last = 0
    // One message per number: a retry after a partial failure may text the first ones again.
    for (const to of target.to) {
      const sender: Record<string, string> = conn.from.startsWith('MG')
        ? { MessagingServiceSid: conn.from }
        : { From: conn.from }
      const res = await request(
        services.egress,
        `${base}/Messages.json`,
        {
          method: 'POST',
          headers: {
            authorization: auth,
            'content-type': 'application/x-www-form-urlencoded',
            'user-agent': 'switchyard',
            'i-twilio-idempotency-token': `${m.deliveryKey}:${to}`,
          },
          body: new URLSearchParams({ To: to, ...sender, Body: m.body.slice(0, 1600) }).toString(),
          signal: m.signal,
          timeoutMs: m.timeoutMs,
        },
        'Twilio',
      )
      last = res.status
    }
    return sent(last, `SMS to ${target.to.join(', ')}`)
  },
  async test(conn, _target, m, services) {
    const res = await request(
      services.egress,
      `${conn.apiUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${conn.accountSid}.json`,
      {
        method: 'GET',
        headers: {
          authorization: `Basic ${Buffer.from(`${conn.accountSid}:${conn.authToken}`).toString('base64')}`,
        },
        signal: m.signal,
        timeoutMs: m.timeoutMs,
      },
      'Twilio',
    )
    return sent(res.status, `Twilio account ${conn.accountSid}`)
  },
})
