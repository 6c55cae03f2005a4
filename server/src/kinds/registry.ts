import type { KindModule } from './kind'
import { chain } from './chain'
import { httpRequest } from './http-request'
import { noop } from './noop'
import { script } from './script'
import { sqlKind } from './sql'
import { alarm } from './alarm'
import { computeMetricsKind } from './compute-metrics'
import { concatenate } from './concatenate'
import { etlStep } from './etl-step'
import { fileImport } from './file-import'
import { pivot } from './pivot'
import { runChecks } from './run-checks'
import { setVariables } from './set-variables'
import { sqlToStorage } from './sql-to-storage'
import { syncSource } from './sync-source'
import { workflow } from './workflow'
import { sendMessage } from './send-message'

/** Every kind, by name. Adding a kind is one module and one line here. */
const KINDS: readonly KindModule[] = [
  script,
  httpRequest,
  sqlKind,
  chain,
  noop,
  sqlToStorage,
  syncSource,
  fileImport,
  etlStep,
  pivot,
  concatenate,
  computeMetricsKind,
  runChecks,
  alarm,
  setVariables,
  workflow,
  sendMessage,
] as KindModule[]

const byName = new Map(KINDS.map((k) => [k.kind, k]))

export function getKind(name: string): KindModule | undefined {
  return byName.get(name)
}

export function listKinds(): readonly KindModule[] {
  return KINDS
}
