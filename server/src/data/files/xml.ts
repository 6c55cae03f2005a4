import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { SaxesParser } from 'saxes'
import { coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'

/** What a reader of one XML part is told, names without their namespace prefix. */
export interface XmlHandlers {
  open(name: string, attributes: Record<string, string>): void
  text(text: string): void
  close(name: string): void
}

export interface XmlBounds {
  file: string
  part: string
  /** Characters the parser may hold between two events (a text node, a tag, a comment). */
  maxPending: number
  tooLong: () => Error
}

// Spreadsheet parts nest a handful of levels; saxes keeps a stack entry per open tag.
const MAX_DEPTH = 64

const local = (name: string) => {
  const i = name.indexOf(':')
  return i === -1 ? name : name.slice(i + 1)
}

/**
 * Parses one XML part with saxes (entities, CDATA and encodings done right),
 * yielding after each chunk so the caller can hand out what its handlers
 * collected. saxes holds everything since its last event (a text node until
 * the next tag, a comment until its end), so the characters fed since the
 * last event are counted and capped: no construct can grow without bound.
 */
export async function* parseXml(input: Readable, h: XmlHandlers, b: XmlBounds): AsyncGenerator<void> {
  const parser = new SaxesParser({ position: false })
  let depth = 0
  let event = false
  parser.on('opentag', (t) => {
    event = true
    if (++depth > MAX_DEPTH)
      throw new RunFailure(`${b.file}: ${b.part} nests tags more than ${MAX_DEPTH} deep`)
    h.open(local(t.name), t.attributes as Record<string, string>)
  })
  parser.on('closetag', (t) => {
    event = true
    depth--
    h.close(local(t.name))
  })
  parser.on('text', (t) => {
    event = true
    h.text(t)
  })
  parser.on('cdata', (t) => {
    event = true
    h.text(t)
  })
  for (const other of ['comment', 'processinginstruction', 'doctype', 'xmldecl'] as const) {
    parser.on(other, () => {
      event = true
    })
  }
  // Slices no longer than half the bound, so one slice that ended an event cannot trip it on its own.
  const slice = Math.max(1, Math.min(65_536, Math.floor(b.maxPending / 2)))
  const decoder = new StringDecoder('utf8')
  let pending = 0
  const feed = (s: string) => {
    for (let i = 0; i < s.length; i += slice) {
      const part = s.length <= slice ? s : s.slice(i, i + slice)
      event = false
      parser.write(part)
      pending = event ? part.length : pending + part.length
      if (pending > b.maxPending) throw b.tooLong()
    }
  }
  try {
    for await (const chunk of input) {
      feed(decoder.write(chunk as Buffer))
      yield
    }
    feed(decoder.end())
    parser.close()
  } catch (err) {
    input.destroy()
    const e = coerceError(err)
    if (e instanceof RunFailure) throw e
    throw new RunFailure(
      `${b.file} is not a valid XLSX file: ${b.part} is not well-formed XML (${e.message})`,
    )
  }
}

/** Parses a small part to its end (workbook, relationships, styles). */
export async function parseWholeXml(input: Readable, h: XmlHandlers, b: XmlBounds): Promise<void> {
  for await (const _ of parseXml(input, h, b)) {
    // Nothing to hand out between chunks: the handlers build the result.
  }
}
