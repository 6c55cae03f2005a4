import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { authenticate, credentialFrom } from '../../auth/authenticate'
import { ForbiddenError, NotFoundError, ValidationError, coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import type { Services } from '../../services'
import { parseInput } from '../../validation'
import { datasourceFor } from '../datasources/service'
import { type FileOptions, FileOptionsInput } from './reader'
import { checkFormat } from './sniff'
import { overCap } from './limits'
import { storeFile } from './store'
import { insertAuditEvent } from '../../audit/store'
import { BAD_TEXT, badTextPath } from '../../http/text'

const Query = z.object({
  /** The file's name; its extension tells the format unless `format` is given. */
  name: z.string().trim().min(1).max(255),
  /** Name of the new datasource (default: the file name). */
  datasourceName: z.string().trim().min(1).max(200).optional(),
  /** Replace the file of this existing file datasource (keeps its id, grants and options). */
  datasource: z.uuid().optional(),
  format: z.enum(['CSV', 'XLSX']).optional(),
  delimiter: z.string().length(1).optional(),
  header: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  sheet: z.string().min(1).max(100).optional(),
})

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/**
 * POST /uploads?name=orders.csv — the request body is the file, streamed into
 * the database in 1 MiB chunks (never held whole in memory) and checked to be
 * what its name says. Creates a FILE datasource, or replaces the file of one.
 * Authenticated like the API (Bearer token or session cookie); editors and admins only.
 */
export function uploadHandler(services: Services) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST the file as the request body' })
    const viewer = await authenticate(
      services.db,
      credentialFrom({
        authorization: req.headers.authorization ?? null,
        cookie: req.headers.cookie ?? null,
      }),
    )
    if (viewer?.type !== 'user') return reply(res, 401, { error: 'sign in (Authorization: Bearer <token>)' })
    const audit = (outcome: string, targetId: string | null, details: Record<string, unknown>) => ({
      orgId: viewer.orgId,
      actorUserId: viewer.userId,
      actor: viewer.email,
      action: 'upload',
      targetType: 'Datasource',
      targetId,
      outcome,
      details,
      address: req.socket.remoteAddress ?? null,
      userAgent: req.headers['user-agent']?.slice(0, 300) ?? null,
    })
    // A refused or failed upload changed nothing; it is recorded as an attempt, named by its error.
    const asked = Object.fromEntries(new URL(req.url ?? '/', 'http://upload').searchParams)
    const attempt = (outcome: string) =>
      insertAuditEvent(
        services.db,
        // Text the database cannot store (NUL) is not copied into the record, only named.
        audit(outcome, null, badTextPath(asked, 'query') ? { invalid: badTextPath(asked, 'query') } : asked),
      ).catch((err) => services.log.error({ err: coerceError(err) }, 'could not write the audit event'))
    if (viewer.role === 'VIEWER') {
      await attempt('ForbiddenError')
      return reply(res, 403, { error: 'viewers may not upload files' })
    }
    const badPath = badTextPath(asked, 'query')
    if (badPath) {
      await attempt('ValidationError')
      return reply(res, 400, { error: `invalid input: ${badPath}: ${BAD_TEXT}` })
    }
    const limits = services.data.fileLimits
    if (Number(req.headers['content-length'] ?? 0) > limits.maxFileBytes) {
      await attempt('PayloadTooLarge')
      return reply(res, 413, {
        error: overCap('the upload', 'the file size', 'maxFileBytes', limits).message,
      })
    }
    try {
      const url = new URL(req.url ?? '/', 'http://upload')
      const q = parseInput(Query, Object.fromEntries(url.searchParams), 'query')
      const existing = q.datasource
        ? (await datasourceFor(services.db, viewer, q.datasource, 'MANAGE')).row
        : undefined
      if (existing && existing.type !== 'FILE')
        throw new ValidationError('datasource is not a file datasource', [])
      let format: FileOptions['format']
      const file = await storeFile(
        services.db,
        {
          orgId: viewer.orgId,
          name: q.name,
          contentType: req.headers['content-type'] ?? null,
          createdBy: viewer.userId,
          maxBytes: limits.maxFileBytes,
        },
        req,
        (head) => {
          format = checkFormat(q.name, q.format, head)
        },
      )
      const options = FileOptionsInput.parse({
        ...((existing?.config.options as object) ?? {}),
        ...(q.format ? { format: q.format } : {}),
        ...(q.delimiter ? { delimiter: q.delimiter } : {}),
        ...(q.header !== undefined ? { header: q.header } : {}),
        ...(q.sheet ? { sheet: /^\d+$/.test(q.sheet) ? Number(q.sheet) : q.sheet } : {}),
      })
      const config = {
        fileId: file.id,
        fileName: file.name,
        size: file.size,
        sha256: file.sha256,
        format,
        options,
      }
      const id = existing?.id ?? randomUUID()
      // The datasource change and its audit record commit together, or neither does.
      await services.db
        .transaction(async (tx) => {
          if (existing) {
            await tx.query('update datasources set config = $2::jsonb, updated_at = now() where id = $1', [
              existing.id,
              JSON.stringify(config),
            ])
            await tx.query('delete from data_files where id = $1', [existing.config.fileId])
          } else {
            await tx.query(
              `insert into datasources (id, org_id, name, type, config, created_by) values ($1, $2, $3, 'FILE', $4::jsonb, $5)`,
              [id, viewer.orgId, q.datasourceName ?? q.name, JSON.stringify(config), viewer.userId],
            )
          }
          await insertAuditEvent(tx, audit('OK', id, { ...q, size: file.size, sha256: file.sha256 }))
        })
        .catch(async (err: { code?: string }) => {
          // Rolled back: the stored file belongs to nothing.
          await services.db.query('delete from data_files where id = $1', [file.id])
          if (err.code === '23505')
            throw new ValidationError(
              'a datasource with this name exists; pass datasource=<id> to replace its file, or datasourceName',
              [],
            )
          throw err
        })
      reply(res, existing ? 200 : 201, {
        datasource: { id, name: existing?.name ?? q.datasourceName ?? q.name, type: 'FILE' },
        file: { id: file.id, name: file.name, size: file.size, sha256: file.sha256, format },
      })
    } catch (err) {
      const e = coerceError(err)
      await attempt(e.name === 'Error' ? 'ERROR' : e.name)
      if (e instanceof ValidationError || e instanceof RunFailure)
        return reply(res, 400, { error: e.message })
      if (e instanceof NotFoundError) return reply(res, 404, { error: e.message })
      if (e instanceof ForbiddenError) return reply(res, 403, { error: e.message })
      if (/larger than|is empty/.test(e.message)) return reply(res, 400, { error: e.message })
      services.log.error({ err: e }, 'upload failed')
      reply(res, 500, { error: 'upload failed' })
    }
  }
}
