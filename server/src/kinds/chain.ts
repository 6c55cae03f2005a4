import { z } from 'zod'
import { ValidationError } from '../errors'
import { defineKind } from './kind'

/**
 * Runs other automations one after the other. The chain run itself only
 * detaches and starts step 0; each child's completion starts the next
 * (queue/finalize.ts), so a chain holds no worker slot while it waits.
 */
export const chain = defineKind({
  kind: 'CHAIN',
  description: 'Runs other automations in order; the first failure stops the chain.',
  configSchema: z.object({
    children: z.array(z.uuid('must be an automation id')).min(1, 'a chain needs at least one step').max(200),
  }),
  async execute({ config }) {
    return { detach: true, firstChild: { automationId: config.children[0]!, step: 0 } }
  },
  async checkSave(config, { db, orgId, automationId }) {
    const found = await db.query<{ id: string; kind: string; config: { children?: string[] } }>(
      `select a.id, a.kind, v.definition->'config' as config from automations a
       join automation_versions v on v.id = a.current_version_id
       where a.org_id = $1 and a.deleted_at is null`,
      [orgId],
    )
    const byId = new Map(found.map((a) => [a.id, a]))
    config.children.forEach((id, i) => {
      if (!byId.has(id)) {
        throw new ValidationError(`invalid config: children.${i}: automation ${id} does not exist`, [
          { path: `config.children.${i}`, message: 'no such automation in this organization' },
        ])
      }
    })
    if (!automationId) return
    // Depth-first walk over chains reachable from the new children: reaching ourselves is a cycle.
    const seen = new Set<string>()
    const walk = (id: string, path: string[]): string[] | null => {
      if (id === automationId) return path
      if (seen.has(id)) return null
      seen.add(id)
      const a = byId.get(id)
      if (a?.kind !== 'CHAIN') return null
      for (const child of a.config.children ?? []) {
        const cycle = walk(child, [...path, child])
        if (cycle) return cycle
      }
      return null
    }
    for (const child of config.children) {
      const cycle = walk(child, [child])
      if (cycle) {
        throw new ValidationError('invalid config: children: the chain would contain itself', [
          { path: 'config.children', message: `would contain itself through ${cycle.join(' → ')}` },
        ])
      }
    }
  },
})
