import { Readable, pipeline } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { z } from 'zod'
import { dataContext, loadContext } from '../data/kind-context'
import {
  type FileOptions,
  FileOptionsInput,
  type FileRows,
  fileOptions,
  readFileRows,
} from '../data/files/reader'
import { loadStorage } from '../data/load/loader'
import { type DataRunContext, fileRows, resolveDatasource } from '../data/load/sources'
import { StatementTimeout, TargetSpec } from '../data/load/spec'
import { MAX_DOWNLOAD_VARIABLE, capStream, checkDeclaredLength } from '../egress'
import { coerceError } from '../errors'
import { interpolate } from './interpolate'
import { RunFailure, defineKind } from './kind'

const Source = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('UPLOAD'),
    datasource: z.uuid('must be the id of an uploaded file datasource'),
  }),
  z.object({
    type: z.literal('URL'),
    url: z
      .string()
      .max(4000)
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
    headers: z.record(z.string().min(1).max(200), z.string().max(8000)).default({}),
  }),
])

// A content type says more than a URL without an extension.
const BY_CONTENT_TYPE: [RegExp, string][] = [
  [/spreadsheetml/, '.xlsx'],
  [/text\/(csv|plain|tab-separated-values)/, '.csv'],
]

async function openUrl(
  d: DataRunContext,
  src: { url: string; headers: Record<string, string> },
  options: FileOptions,
): Promise<FileRows> {
  const url = interpolate(src.url, d.values, encodeURIComponent)
  const shown = new URL(url)
  shown.username = ''
  shown.password = ''
  const { egress } = d.data
  const res = await egress
    .fetch(url, { headers: src.headers, signal: d.signal, redirect: 'follow' })
    .catch((err: unknown) => {
      if (d.signal.aborted) throw err
      const e = coerceError(err)
      throw new RunFailure(
        `download of ${shown} failed: ${e.cause instanceof Error ? e.cause.message : e.message}`,
      )
    })
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw new RunFailure(`download of ${shown} failed: HTTP ${res.status}`)
  }
  let name = decodeURIComponent(shown.pathname.split('/').pop() || 'download')
  if (!/\.\w+$/.test(name)) {
    const type = res.headers.get('content-type') ?? ''
    name += BY_CONTENT_TYPE.find(([re]) => re.test(type))?.[1] ?? ''
  }
  const cap = {
    maxBytes: egress.settings.maxDownloadBytes,
    variable: MAX_DOWNLOAD_VARIABLE,
    what: `the download of ${shown}`,
  }
  try {
    checkDeclaredLength(res.headers.get('content-length'), cap)
  } catch (err) {
    await res.body.cancel().catch(() => {})
    throw new RunFailure(coerceError(err).message)
  }
  d.log('INFO', `downloading ${shown} (${res.headers.get('content-length') ?? 'unknown'} bytes)`)
  // Counted as it streams: the file readers never see a byte past the cap.
  const body = pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), capStream(cap), () => {})
  return readFileRows(body, name, options, d.data.fileLimits)
}

/**
 * Imports a CSV or XLSX file (uploaded, or fetched from a URL) into a storage,
 * streaming: types declared or inferred, bad rows skipped up to maxBadRows
 * and reported with their line numbers, the storage replaced atomically.
 */
export const fileImport = defineKind({
  kind: 'FILE_IMPORT',
  description: 'Imports a CSV or XLSX file (uploaded or from a URL) into a storage.',
  configSchema: z.object({
    source: Source,
    options: FileOptionsInput.default({}),
    target: TargetSpec,
    timeoutMs: StatementTimeout,
  }),
  async execute(ctx) {
    const { config, log } = ctx
    const d = await dataContext(ctx, config.timeoutMs)
    let rows: FileRows
    if (config.source.type === 'UPLOAD') {
      const ds = await resolveDatasource(d, config.source.datasource)
      if (ds.type !== 'FILE') throw new RunFailure(`datasource "${ds.name}" is not an uploaded file`)
      rows = await fileRows(d, ds, config.options)
    } else {
      rows = await openUrl(d, config.source, fileOptions(config.options))
    }
    // Closed here too: a load that fails before it reads the file must not leave its reader open.
    const result = await loadStorage(loadContext(d), config.target, (stage) =>
      stage.insertStream(rows, d.signal, 'the file'),
    ).finally(() => rows.close?.())
    const { badRows, badRowCount } = rows.report
    for (const b of badRows.slice(0, 20)) log('WARN', `line ${b.line}: ${b.error}`)
    log(
      'INFO',
      `imported ${result.rowsLoaded} row(s) into ${config.target.storage}` +
        (badRowCount > 0 ? `, skipped ${badRowCount} bad row(s)` : ''),
    )
    return { outputs: { ...result, badRowCount, badRows } }
  },
})
