import nodemailer from 'nodemailer'
import { z } from 'zod'
import { coerceError } from '../../errors'
import { SecretRef } from '../domain'
import { Attachment, readAttachmentRows, toCsv, toXlsx } from './attachment'
import { type ChannelServices, DeliveryError, type Outgoing, type Sent, defineChannel } from './channel'
import { isEgressRefusal } from './http'

const Address = z.string().min(3).max(320).email('must be an email address')

const Connection = z.object({
  host: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address'),
  port: z.number().int().min(1).max(65535).default(587),
  /** NONE: plain; STARTTLS: upgrade required (587); TLS: TLS from the first byte (465). */
  security: z.enum(['NONE', 'STARTTLS', 'TLS']).default('STARTTLS'),
  username: z.string().max(320).optional(),
  password: SecretRef.optional(),
  from: z.string().min(3).max(500),
  /** Accept a self-signed certificate (an internal relay); off by default. */
  allowSelfSigned: z.boolean().default(false),
})
type Connection = z.output<typeof Connection>

const Target = z.object({
  to: z.array(Address).min(1, 'give at least one recipient').max(100),
  cc: z.array(Address).max(100).default([]),
  subject: z
    .string()
    .min(1)
    .max(1000)
    .default(
      '[Switchyard] {{ automation.name }} {% if event == "START" %}started{% else %}{{ run.state }}{% endif %}',
    ),
  /** The plain-text part; by default the HTML body with its tags taken out. */
  text: z.string().max(100_000).optional(),
  attachments: z.array(Attachment).max(5).default([]),
})

/** The HTML body as text, for the plain part: tags dropped, entities decoded, blank lines squeezed. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/h[1-6]|\/tr|\/li|\/div)[^>]*>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

/** A transport whose socket is opened through the egress policy (so SMTP obeys it like HTTP). */
function transportFor(conn: Connection, services: ChannelServices, timeoutMs: number) {
  return nodemailer.createTransport({
    host: conn.host,
    port: conn.port,
    secure: conn.security === 'TLS',
    requireTLS: conn.security === 'STARTTLS',
    ignoreTLS: conn.security === 'NONE',
    auth: conn.username ? { user: conn.username, pass: conn.password ?? '' } : undefined,
    tls: { rejectUnauthorized: !conn.allowSelfSigned },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    getSocket(_options, callback) {
      services.egress
        .connect({ host: conn.host, port: conn.port, timeoutMs })
        .then((connection) => callback(null, { connection }))
        .catch((err: unknown) => callback(coerceError(err), undefined as never))
    },
  })
}

/** SMTP 5xx and refused logins are final; 4xx (try later) and network errors are retried. */
function smtpError(err: unknown): DeliveryError {
  const e = coerceError(err) as Error & { responseCode?: number; code?: string }
  const code = typeof e.responseCode === 'number' ? e.responseCode : null
  const final =
    isEgressRefusal(e) || (code !== null && code >= 500) || e.code === 'EAUTH' || e.code === 'EENVELOPE'
  return new DeliveryError(`SMTP: ${e.message}`, !final, code)
}

async function withTransport<T>(
  conn: Connection,
  services: ChannelServices,
  m: Pick<Outgoing, 'signal' | 'timeoutMs'>,
  fn: (t: ReturnType<typeof transportFor>) => Promise<T>,
): Promise<T> {
  const t = transportFor(conn, services, m.timeoutMs)
  const abort = () => t.close()
  m.signal.addEventListener('abort', abort, { once: true })
  try {
    return await fn(t)
  } catch (err) {
    throw smtpError(err)
  } finally {
    m.signal.removeEventListener('abort', abort)
    t.close()
  }
}

export const mail = defineChannel({
  type: 'MAIL',
  connectionSchema: Connection,
  targetSchema: Target,
  templateMode: 'html',
  defaultTemplate: `<div style="font-family:system-ui,sans-serif;font-size:14px;color:#1f2328">
<h2 style="margin:0 0 8px;font-size:18px">{{ automation.name }}
{% if event == "START" %}started{% else %}<span style="color:{% if run.state == "SUCCEEDED" %}#1a7f37{% else %}#cf222e{% endif %}">{{ run.state }}</span>{% endif %}</h2>
<p>Run <a href="{{ run.url }}">#{{ run.id }}</a> (attempt {{ run.attempt }}, {{ run.triggerSource }}{% if triggeredBy %} by {{ triggeredBy.name }}{% endif %}){% if event == "END" %} took {{ run.duration }}{% endif %}.</p>
{% if run.error %}<pre style="background:#ffebe9;padding:8px;white-space:pre-wrap">{{ run.error }}</pre>{% endif %}
{% if checks.size > 0 %}<table style="border-collapse:collapse">{% for c in checks %}
<tr><td style="padding:2px 8px">{{ c.name }}</td><td style="padding:2px 8px"><b>{{ c.outcome }}</b></td><td style="padding:2px 8px">{{ c.message }}</td></tr>{% endfor %}
</table>{% endif %}
{% if steps.size > 0 %}<ol>{% for s in steps %}<li>{{ s.automation }}: <b>{{ s.state }}</b></li>{% endfor %}</ol>{% endif %}
</div>`,
  templatesOf: (t) => ({
    subject: t.subject,
    ...(t.text !== undefined ? { text: t.text } : {}),
    ...Object.fromEntries(t.attachments.map((a, i) => [`attachments.${i}.filename`, a.filename])),
  }),
  async send(conn, target, m, services): Promise<Sent> {
    const subject = (await m.render(target.subject)).replace(/[\r\n]+/g, ' ').slice(0, 998)
    const text = target.text !== undefined ? await m.render(target.text) : htmlToText(m.body)
    const attachments: { filename: string; content: Buffer | string; contentType: string }[] = []
    for (const a of target.attachments) {
      const filename = (await m.render(a.filename)).replace(/[/\\\r\n]/g, '_').slice(0, 200)
      const { columns, rows } = await readAttachmentRows(services.warehouse, m.orgId, a, m.signal)
      attachments.push(
        a.format === 'CSV'
          ? { filename, content: toCsv(columns, rows), contentType: 'text/csv; charset=utf-8' }
          : {
              filename,
              content: await toXlsx(columns, rows),
              contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
            },
      )
    }
    const info = await withTransport(conn, services, m, (t) =>
      t.sendMail({
        from: conn.from,
        to: target.to,
        cc: target.cc,
        subject,
        html: m.body,
        text,
        attachments,
        headers: { 'X-Switchyard-Delivery': m.deliveryKey },
        messageId: `<${m.deliveryKey.replaceAll(':', '.')}@switchyard>`,
      }),
    )
    const code = Number(/^(\d{3})/.exec(String(info.response ?? ''))?.[1] ?? 250)
    return { responseCode: code, detail: `mail to ${[...target.to, ...target.cc].join(', ')}` }
  },
  async test(conn, _target, m, services) {
    await withTransport(conn, services, m, (t) => t.verify())
    return { responseCode: 250, detail: `SMTP ${conn.host}:${conn.port} accepted the login` }
  },
})
