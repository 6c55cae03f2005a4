import type { KindModule } from './kind'
import { chain } from './chain'
import { httpRequest } from './http-request'
import { noop } from './noop'
import { script } from './script'
import { sqlKind } from './sql'

/** Every kind, by name. Adding a kind is one module and one line here. */
const KINDS: readonly KindModule[] = [script, httpRequest, sqlKind, chain, noop] as KindModule[]

const byName = new Map(KINDS.map((k) => [k.kind, k]))

export function getKind(name: string): KindModule | undefined {
  return byName.get(name)
}

export function listKinds(): readonly KindModule[] {
  return KINDS
}
