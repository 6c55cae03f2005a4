// Every data feature registers its GraphQL types by being imported here.
import './storages/graphql'
import './datasources/graphql'
import './datasources/mutations'
import './metrics/graphql'
import './checks/graphql'
import './variables/graphql'
import './catalog/graphql'
