import type { Database } from '../db/database'
import { DELIVERY_COLUMNS, type DeliveryRow, deliveryColumnsOf } from './rows'

/**
 * Claims due deliveries: queued ones whose time has come, and ones whose sender stopped
 * (lease expired: the node died mid-send), skipping rows another node is claiming. Each
 * claim counts an attempt and carries the claimer's id; only that claim may record the
 * result (a sender that comes back late is fenced out by attempts and lease_owner).
 */
export async function claimDeliveries(
  db: Database,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<DeliveryRow[]> {
  return db.query<DeliveryRow>(
    `with c as (
       select id from deliveries
        where (state = 'QUEUED' and next_attempt_at <= now()) or (state = 'SENDING' and lease_expires_at < now())
        order by next_attempt_at, id limit $2 for update skip locked
     )
     update deliveries d set state = 'SENDING', attempts = d.attempts + 1, lease_owner = $1,
       lease_expires_at = now() + make_interval(secs => $3::float8 / 1000), updated_at = now()
     from c where d.id = c.id
     returning ${deliveryColumnsOf('d')}`,
    [owner, limit, leaseMs],
  )
}

export interface DeliveryResult {
  state: 'DELIVERED' | 'FAILED' | 'SKIPPED' | 'QUEUED'
  responseCode: number | null
  error: string | null
  detail: string | null
  /** For QUEUED (a retry): when. */
  retryInMs?: number
}

/** Records the result of the claim `attempts` held by `owner`; false when that claim is no longer current. */
export async function completeDelivery(
  db: Database,
  d: Pick<DeliveryRow, 'id' | 'attempts'>,
  owner: string,
  r: DeliveryResult,
): Promise<boolean> {
  const rows = await db.query(
    `update deliveries set state = $4, response_code = $5, error = $6, detail = coalesce($7, detail),
       lease_owner = null, lease_expires_at = null, updated_at = now(),
       next_attempt_at = case when $4 = 'QUEUED' then now() + make_interval(secs => $8::float8 / 1000) else next_attempt_at end,
       delivered_at = case when $4 = 'DELIVERED' then now() else delivered_at end
     where id = $1 and attempts = $2 and lease_owner = $3 and state = 'SENDING'
     returning id`,
    [d.id, d.attempts, owner, r.state, r.responseCode, r.error, r.detail, r.retryInMs ?? 0],
  )
  return rows.length > 0
}

/** Milliseconds until the next queued delivery is due, or null. */
export async function nextDeliveryInMs(db: Database): Promise<number | null> {
  const [row] = await db.query<{ ms: number | null }>(
    `select extract(epoch from (least(
        (select min(next_attempt_at) from deliveries where state = 'QUEUED'),
        (select min(lease_expires_at) from deliveries where state = 'SENDING')) - now())) * 1000 as ms`,
  )
  return row?.ms == null ? null : Math.max(0, Number(row.ms))
}

export const DELIVERIES_OF_RUN = `select ${DELIVERY_COLUMNS} from deliveries where run_id = $1 order by id`
