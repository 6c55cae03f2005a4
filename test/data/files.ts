import { createRequire } from 'node:module'
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type ExcelJSModule from '../../server/node_modules/exceljs'
import type { TestServer } from '../helpers/server'

// exceljs is a dependency of the server; the tests borrow it to write real XLSX files.
const ExcelJS = createRequire(import.meta.url)('../../server/node_modules/exceljs') as typeof ExcelJSModule

/** An XLSX workbook with the given sheets (rows of cell values), as bytes. */
export async function xlsx(sheets: Record<string, unknown[][]>): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name)
    for (const r of rows) ws.addRow(r)
  }
  return Buffer.from(await wb.xlsx.writeBuffer())
}

export interface UploadResult {
  status: number
  body: { datasource?: { id: string; name: string }; file?: { size: number; format: string }; error?: string }
}

/** POSTs a file to /uploads. */
export async function upload(
  s: TestServer,
  token: string,
  name: string,
  body: Buffer | string,
  params: Record<string, string> = {},
): Promise<UploadResult> {
  const q = new URLSearchParams({ name, ...params })
  const res = await fetch(`${s.url}/uploads?${q}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  })
  return { status: res.status, body: (await res.json()) as UploadResult['body'] }
}

/** A local HTTP server serving fixed files by path, for URL imports. */
export async function fileServer(files: Record<string, { body: Buffer | string; type?: string }>): Promise<{
  url: string
  close(): Promise<void>
}> {
  const server: Server = createServer((req, res) => {
    const f = files[(req.url ?? '').split('?')[0]!]
    if (!f) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': f.type ?? 'application/octet-stream' }).end(f.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
