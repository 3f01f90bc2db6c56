import type { Logger } from './logger'
import type { DsnNodeApi } from '../node/api'
import type { MqttBridge } from '../mqtt/bridge'
import { describeMqtt, type MqttSettings } from '../mqtt/config'

/**
 * Starts the MQTT bridge when `mqtt` is configured. The bridge and MQTT.js (some 300 KB of
 * minified code) are loaded here, by a require() inside the function: esbuild then wraps them as a
 * lazily evaluated module of dist/dsn.cjs, so a daemon without `mqtt` never parses or runs them.
 * Never an `import` of ../mqtt/bridge anywhere else, or the laziness is lost.
 */
export function startMqttHook(settings: MqttSettings | undefined, node: DsnNodeApi, cluster: string, logger: Logger, version: string): MqttBridge | undefined {
  if (settings === undefined) return undefined
  logger.info('mqtt-starting', describeMqtt(settings))
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startMqttBridge } = require('../mqtt/bridge') as typeof import('../mqtt/bridge')
  return startMqttBridge({ node, cluster, settings, logger, version })
}
