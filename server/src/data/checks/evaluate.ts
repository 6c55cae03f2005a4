import type { CheckOutcome } from '../domain'
import { asNumber } from '../load/query'
import type { CheckRule } from './spec'

export interface Verdict {
  outcome: CheckOutcome
  message: string
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, ''))

function bounds(v: number, r: { min?: number; max?: number; softMin?: number; softMax?: number }): Verdict {
  if (r.min !== undefined && v < r.min)
    return { outcome: 'ERROR', message: `${fmt(v)} is below the minimum ${fmt(r.min)}` }
  if (r.max !== undefined && v > r.max)
    return { outcome: 'ERROR', message: `${fmt(v)} is above the maximum ${fmt(r.max)}` }
  if (r.softMin !== undefined && v < r.softMin)
    return { outcome: 'WARNING', message: `${fmt(v)} is below the soft minimum ${fmt(r.softMin)}` }
  if (r.softMax !== undefined && v > r.softMax)
    return { outcome: 'WARNING', message: `${fmt(v)} is above the soft maximum ${fmt(r.softMax)}` }
  return { outcome: 'OK', message: `${fmt(v)} is within bounds` }
}

/**
 * Judges a value by a rule. `previous` is the value before this one (for
 * CHANGE); undefined when there is none yet.
 */
export function evaluateRule(rule: CheckRule, value: unknown, previous: number | null | undefined): Verdict {
  if (rule.type === 'OUTCOME') {
    if (value === true) return { outcome: 'OK', message: 'true' }
    if (value === false) return { outcome: 'ERROR', message: 'false' }
    const s = typeof value === 'string' ? value.trim().toUpperCase() : ''
    if (s === 'OK' || s === 'WARNING' || s === 'ERROR') return { outcome: s, message: `the query says ${s}` }
    return {
      outcome: 'ERROR',
      message: `the query must return OK, WARNING, ERROR, true or false, not ${JSON.stringify(value)}`,
    }
  }
  if (rule.type === 'EQUALS') {
    const n = asNumber(value)
    const same =
      typeof rule.value === 'number'
        ? n === rule.value
        : value === rule.value || String(value) === String(rule.value)
    return same
      ? { outcome: 'OK', message: `equals ${JSON.stringify(rule.value)}` }
      : { outcome: rule.onFail, message: `${JSON.stringify(value)} is not ${JSON.stringify(rule.value)}` }
  }
  if (value === null || value === undefined) return { outcome: 'ERROR', message: 'no value (null)' }
  const v = asNumber(value)
  if (v === undefined) return { outcome: 'ERROR', message: `${JSON.stringify(value)} is not a number` }
  if (rule.type !== 'CHANGE') return bounds(v, rule)
  if (previous === undefined || previous === null)
    return { outcome: 'OK', message: `${fmt(v)}; no previous value to compare with` }
  const delta = v - previous
  const pct =
    previous === 0 ? (delta === 0 ? 0 : Number.POSITIVE_INFINITY) : (delta / Math.abs(previous)) * 100
  const moved = rule.direction === 'UP' ? pct : rule.direction === 'DOWN' ? -pct : Math.abs(pct)
  const what = `${fmt(previous)} → ${fmt(v)} (${pct >= 0 ? '+' : ''}${Number.isFinite(pct) ? fmt(pct) : '∞'}%)`
  if (moved > rule.maxPct)
    return { outcome: 'ERROR', message: `${what} changed more than ${fmt(rule.maxPct)}%` }
  if (rule.softMaxPct !== undefined && moved > rule.softMaxPct) {
    return { outcome: 'WARNING', message: `${what} changed more than ${fmt(rule.softMaxPct)}%` }
  }
  return { outcome: 'OK', message: what }
}
