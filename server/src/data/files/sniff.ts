import { extname } from 'node:path'
import { RunFailure } from '../../kinds/kind'
import { FileFormat } from '../domain'

/** What the first bytes of a file say it is, whatever its name claims. */
export function sniff(head: Buffer): {
  kind: 'ZIP' | 'OLE' | 'PDF' | 'GZIP' | 'PNG' | 'BINARY' | 'TEXT'
  label: string
} {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b)
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06))
    return { kind: 'ZIP', label: 'a ZIP archive (XLSX?)' }
  if (starts(0xd0, 0xcf, 0x11, 0xe0)) return { kind: 'OLE', label: 'an old Excel 97-2003 (.xls) file' }
  if (starts(0x25, 0x50, 0x44, 0x46)) return { kind: 'PDF', label: 'a PDF document' }
  if (starts(0x1f, 0x8b)) return { kind: 'GZIP', label: 'a gzip archive' }
  if (starts(0x89, 0x50, 0x4e, 0x47)) return { kind: 'PNG', label: 'a PNG image' }
  // UTF-8 text never holds NUL bytes; UTF-16 and binaries do.
  if (head.subarray(0, 8192).includes(0)) return { kind: 'BINARY', label: 'a binary file' }
  return { kind: 'TEXT', label: 'text' }
}

/** The format a file name announces, if any. */
export function formatFromName(name: string): FileFormat | undefined {
  const ext = extname(name.split('?')[0] ?? '').toLowerCase()
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'CSV'
  if (ext === '.xlsx' || ext === '.xlsm') return 'XLSX'
  return undefined
}

/**
 * Decides a file's format from what was declared, else its name, and checks
 * that its first bytes agree, so a mislabelled file fails with a clear message.
 */
export function checkFormat(name: string, declared: FileFormat | undefined, head: Buffer): FileFormat {
  const seen = sniff(head)
  const format =
    declared ??
    formatFromName(name) ??
    (seen.kind === 'ZIP' ? 'XLSX' : seen.kind === 'TEXT' ? 'CSV' : undefined)
  if (!format) throw new RunFailure(`${name} is neither CSV nor XLSX: it looks like ${seen.label}`)
  if (format === FileFormat.XLSX && seen.kind !== 'ZIP') {
    throw new RunFailure(`${name} is not an XLSX file: it looks like ${seen.label}`)
  }
  if (format === FileFormat.CSV && seen.kind !== 'TEXT') {
    throw new RunFailure(`${name} is not a CSV file: it looks like ${seen.label}`)
  }
  return format
}
