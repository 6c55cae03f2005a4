import { StringDecoder } from 'node:string_decoder'

/**
 * Splits a child's stream into lines without ever holding more than `maxChars` of one:
 * a script that writes a gigabyte without a newline must not make the server buffer it.
 * An overlong line is handed on once, cut, with `cut` set; the rest of it is dropped.
 */
export function splitLines(
  stream: {
    on(event: 'data', listener: (chunk: Buffer) => void): unknown
    on(event: 'end', listener: () => void): unknown
  } | null,
  maxChars: number,
  onLine: (line: string, cut: boolean) => void,
): void {
  if (!stream) return
  const decoder = new StringDecoder('utf8')
  let pending = ''
  let dropping = false
  const push = (text: string) => {
    let start = 0
    for (;;) {
      const newline = text.indexOf('\n', start)
      if (!dropping) {
        pending += newline === -1 ? text.slice(start) : text.slice(start, newline)
        if (pending.length > maxChars) {
          onLine(pending.slice(0, maxChars), true)
          pending = ''
          dropping = true
        }
      }
      if (newline === -1) return
      if (!dropping) onLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending, false)
      pending = ''
      dropping = false
      start = newline + 1
    }
  }
  stream.on('data', (chunk: Buffer) => push(decoder.write(chunk)))
  stream.on('end', () => {
    push(decoder.end())
    if (pending !== '' && !dropping) onLine(pending, false)
  })
}
