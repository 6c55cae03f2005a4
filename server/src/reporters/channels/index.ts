import type { ChannelType } from '../domain'
import type { Channel } from './channel'
import { dataset } from './dataset'
import { mail } from './mail'
import { slack } from './slack'
import { teams } from './teams'
import { twilio } from './twilio'
import { webhook } from './webhook'

/** Every channel, by type: one module each, one line here. */
export const CHANNELS: Readonly<Record<ChannelType, Channel>> = Object.freeze({
  MAIL: mail,
  SLACK: slack,
  TEAMS: teams,
  WEBHOOK: webhook,
  TWILIO_SMS: twilio,
  DATASET: dataset,
} as Record<ChannelType, Channel>)
