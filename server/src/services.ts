import type { LoginThrottle } from './auth/throttle'
import type { Config } from './config'
import type { DataServices } from './data/services'
import type { Database } from './db/database'
import type { Logger } from './log'
import type { Engine } from './engine/engine'
import type { EventBus } from './events/bus'
import type { SharedExecution } from './graphql/shared-execution'
import type { RunReads } from './runs/reads'

/** What every request and background loop reaches the rest of the app through. */
export interface Services {
  readonly db: Database
  readonly config: Config
  readonly log: Logger
  readonly engine: Engine
  readonly bus: EventBus
  readonly data: DataServices
  /** Shared reads behind live deliveries (one per app). */
  readonly runReads: RunReads
  /** Live subscriptions executed once per event and selection for all their subscribers (one per app). */
  readonly sharedExecution: SharedExecution
  /** Failed sign-ins, counted in the database so every node shares them. */
  readonly loginThrottle: LoginThrottle
}
