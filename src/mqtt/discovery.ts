import { createHash } from 'node:crypto'
import { OFFLINE, ONLINE, type Topics } from './topics'

/**
 * Home Assistant MQTT discovery payloads (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery),
 * pure: a device per dsn node, an entity per key whose value is a number, a boolean or a string.
 * Config topic: `<discoveryPrefix>/<component>/<node_id>/<object_id>/config`, where Home Assistant
 * wants node_id and object_id of [a-zA-Z0-9_-]: ids and keys are slugged, plus a short hash of the
 * originals so `a.b` and `a_b` never share an entity. Values are published as JSON, so a number or a
 * boolean is its own state; a string arrives quoted and needs `value_json`.
 */
export type EntityKind = 'number' | 'boolean' | 'string'
export type Component = 'sensor' | 'binary_sensor'

export interface DiscoveryContext {
  discoveryPrefix: string
  cluster: string
  /** The node running the bridge: other nodes' devices are `via_device` it. */
  bridgeNode: string
  version: string
  topics: Topics
}

export interface DiscoveryMessage {
  topic: string
  /** The JSON config; the bridge clears the topic (empty retained payload) when the key goes. */
  payload: string
  component: Component
}

// Home Assistant rejects a sensor state over 255 characters: cut long strings in the template.
const MAX_STATE_CHARS = 255

/** Which entity a value gets, if any: objects, arrays, bytes and null get none. */
export function entityKind(json: unknown): EntityKind | undefined {
  switch (typeof json) {
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'string':
      return 'string'
    default:
      return undefined
  }
}

export function componentOf(kind: EntityKind): Component {
  return kind === 'boolean' ? 'binary_sensor' : 'sensor'
}

function slug(text: string): string {
  const s = text.replace(/[^a-zA-Z0-9_-]+/g, '_').replace(/^_+|_+$/g, '')
  return s === '' ? 'x' : s.slice(0, 48)
}

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 8)
}

/** Home Assistant's device identifier of a dsn node. */
export function deviceId(cluster: string, node: string): string {
  return `dsn_${slug(cluster)}_${slug(node)}_${shortHash(cluster, node)}`
}

export function discoveryTopic(ctx: DiscoveryContext, component: Component, node: string, key: string): string {
  return `${ctx.discoveryPrefix}/${component}/${deviceId(ctx.cluster, node)}/${slug(key)}_${shortHash(key)}/config`
}

/** The discovery config of one key's entity. */
export function discoveryConfig(ctx: DiscoveryContext, node: string, key: string, kind: EntityKind): DiscoveryMessage {
  const component = componentOf(kind)
  const device: Record<string, unknown> = {
    identifiers: [deviceId(ctx.cluster, node)],
    name: node,
    manufacturer: 'distributed-state-network',
    model: `dsn node (cluster ${ctx.cluster})`,
  }
  if (node === ctx.bridgeNode) device.sw_version = ctx.version
  else device.via_device = deviceId(ctx.cluster, ctx.bridgeNode)
  const config: Record<string, unknown> = {
    name: key,
    unique_id: `${deviceId(ctx.cluster, node)}_${slug(key)}_${shortHash(key)}`,
    state_topic: ctx.topics.value(node, key),
    // The node's own liveness and the bridge's: stale retained values show as unavailable.
    availability: [{ topic: ctx.topics.status(node) }, { topic: ctx.topics.bridge(ctx.bridgeNode) }],
    availability_mode: 'all',
    payload_available: ONLINE,
    payload_not_available: OFFLINE,
    device,
    origin: { name: 'dsn', sw_version: ctx.version },
  }
  if (kind === 'number') config.state_class = 'measurement'
  if (kind === 'string') config.value_template = `{{ value_json[:${MAX_STATE_CHARS}] }}`
  if (kind === 'boolean') {
    config.payload_on = 'true'
    config.payload_off = 'false'
  }
  return { topic: discoveryTopic(ctx, component, node, key), payload: JSON.stringify(config), component }
}
