export * from './accounts'
export * from './automations'
export * from './runs'
