import { auditMutations } from '../audit/record'
import { restrictEmbedViewers } from '../embed/surface'
import { builder } from './builder'
import './errors'
import '../accounts/graphql'
import '../accounts/invites-graphql'
import '../automations/graphql'
import '../runs/graphql'
import '../runs/subscriptions'
import '../automations/run-as-graphql'
import '../mutex/graphql'
import '../embed/graphql'
import '../triggers/graphql'
import '../data/graphql'
import '../secrets/graphql'
import '../audit/graphql'

/** The whole API: every feature registers its types on the shared builder by being imported above. */
export const schema = auditMutations(restrictEmbedViewers(builder.toSchema({ sortSchema: true })))
