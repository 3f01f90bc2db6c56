import * as mqtt from 'mqtt'
import { parseCliValue } from '../cli/values'
import { toJson } from '../daemon/json-values'
import type { Logger } from '../daemon/logger'
import type { DsnNodeApi } from '../node/api'
import type { PeerDownEvent, PeerUpEvent, UpdateEvent } from '../node/events'
import type { MqttSettings } from './config'
import { discoveryConfig, entityKind, type DiscoveryContext } from './discovery'
import { Outbox } from './outbox'
import { OFFLINE, ONLINE, Topics } from './topics'

/**
 * The MQTT bridge of `dsn run` (loaded only when `mqtt` is configured: see daemon/mqtt-hook.ts).
 * It mirrors every node's state to retained topics, each node's liveness to its status topic and,
 * with discovery on, a Home Assistant entity per key. The mesh never waits for the broker: writes
 * go to a coalescing Outbox, drained while connected with a bounded number of publishes in flight;
 * after every (re)connect the whole current state is queued again (a restarted broker without
 * persistence has lost its retained messages).
 */
export interface MqttBridgeDeps {
  node: DsnNodeApi
  cluster: string
  settings: MqttSettings
  logger: Logger
  version: string
}

export interface MqttBridge {
  /** Marks this node and its bridge offline, then disconnects (bounded by STOP_TIMEOUT_MS). */
  stop(): Promise<void>
  /** For tests and `status`: pending topics, publishes in flight, counters. */
  stats(): { connected: boolean; pending: number; inFlight: number; published: number; dropped: number; commands: number }
}

// QoS 1 publishes awaiting PUBACK: enough to fill a LAN round trip, small enough that a stalled
// broker holds at most this many messages in MQTT.js's store.
const MAX_IN_FLIGHT = 32
// Outbox bound: far above peers x keys at the mesh's default limits, a guard against a flood of
// distinct keys written and deleted while the broker is away.
const MAX_PENDING = 100_000
// Reconnect backoff: 1 s, doubling to 30 s; reset by a successful connect.
const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 30_000
const STOP_TIMEOUT_MS = 2000

export function startMqttBridge(deps: MqttBridgeDeps): MqttBridge {
  const { node, cluster, settings, logger, version } = deps
  const self = node.nodeId
  const topics = new Topics(settings.topicPrefix, cluster)
  const ctx: DiscoveryContext = { discoveryPrefix: settings.discoveryPrefix, cluster, bridgeNode: self, version, topics }
  const outbox = new Outbox(MAX_PENDING)
  // Discovery configs published, per node and key: to clear them on delete or type change.
  const announced = new Map<string, { topic: string; payload: string }>()
  let inFlight = 0
  let generation = 0
  let published = 0
  let commands = 0
  let outageSince: number | undefined
  let outageLogged = false
  let lastError: Error | undefined
  let stopping = false

  const client = mqtt.connect(settings.url, {
    clientId: settings.clientId ?? `dsn-${cluster}-${self}`,
    username: settings.username,
    password: settings.password,
    ca: settings.ca,
    clean: true,
    reconnectPeriod: FIRST_RETRY_MS,
    connectTimeout: 10_000,
    // The bridge publishes only while connected: nothing may pile up in MQTT.js's offline queue.
    queueQoSZero: false,
    // mqtt-packet would otherwise build a Buffer for each of the 65,536 packet ids at the first
    // publish: about 8 MB of heap, a lot on a 512 MB board, for a few microseconds per packet.
    writeCache: false,
    will: { topic: topics.bridge(self), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
  })

  const flush = () => {
    while (client.connected && inFlight < MAX_IN_FLIGHT) {
      const next = outbox.take()
      if (!next) return
      const [topic, payload] = next
      const gen = generation
      inFlight++
      client.publish(topic, payload, { qos: 1, retain: true }, (err) => {
        if (gen === generation) inFlight--
        if (err) outbox.retry(topic, payload)
        else published++
        if (gen === generation) flush()
      })
    }
  }

  const putValue = (nodeId: string, key: string, value: unknown, deleted: boolean) => {
    const id = `${nodeId}\u0000${key}`
    const json = deleted ? undefined : toJson(value)
    if (settings.discovery) {
      const kind = json === undefined ? undefined : entityKind(json)
      const before = announced.get(id)
      const next = kind === undefined ? undefined : discoveryConfig(ctx, nodeId, key, kind)
      if (before && before.topic !== next?.topic) {
        outbox.put(before.topic, '')
        announced.delete(id)
      }
      if (next && before?.payload !== next.payload) {
        outbox.put(next.topic, next.payload)
        announced.set(id, { topic: next.topic, payload: next.payload })
      }
    }
    outbox.put(topics.value(nodeId, key), json === undefined ? '' : JSON.stringify(json))
  }

  const putNode = (nodeId: string) => {
    outbox.put(topics.status(nodeId), ONLINE)
    const state = node.state(nodeId) ?? {}
    for (const [key, value] of Object.entries(state)) putValue(nodeId, key, value, false)
  }

  const resync = () => {
    announced.clear()
    outbox.put(topics.bridge(self), ONLINE)
    for (const nodeId of node.peers()) putNode(nodeId)
  }

  const onUpdate = (e: UpdateEvent) => {
    putValue(e.nodeId, e.key, e.value, e.deleted)
    flush()
  }
  const onPeerUp = (e: PeerUpEvent) => {
    putNode(e.nodeId)
    flush()
  }
  const onPeerDown = (e: PeerDownEvent) => {
    outbox.put(topics.status(e.nodeId), OFFLINE)
    flush()
  }
  node.on('update', onUpdate)
  node.on('peer-up', onPeerUp)
  node.on('peer-down', onPeerDown)

  const retryDelay = () => client.options.reconnectPeriod ?? FIRST_RETRY_MS
  const startOutage = () => {
    if (stopping) return
    outageSince ??= Date.now()
    if (!outageLogged) {
      outageLogged = true
      logger.warn('mqtt-disconnected', { url: describeUrl(settings.url), error: lastError, retry: 'with backoff, 1 s doubling to 30 s' })
    }
  }

  client.on('connect', () => {
    logger.info('mqtt-connected', { url: describeUrl(settings.url), clientId: client.options.clientId, outageMs: outageSince === undefined ? 0 : Date.now() - outageSince })
    outageSince = undefined
    outageLogged = false
    lastError = undefined
    client.options.reconnectPeriod = FIRST_RETRY_MS
    generation++
    inFlight = 0
    if (settings.commands) {
      client.subscribe(topics.commandFilter(self), { qos: 1 }, (err) => {
        if (err) logger.warn('mqtt-subscribe-failed', { topic: topics.commandFilter(self), error: err })
      })
    }
    resync()
    flush()
  })
  client.on('close', () => {
    generation++
    inFlight = 0
    startOutage()
  })
  client.on('reconnect', () => {
    client.options.reconnectPeriod = Math.min(MAX_RETRY_MS, retryDelay() * 2)
  })
  // MQTT.js emits 'error' for a refused connection, a TLS failure, a DNS error...: the outage log
  // carries it; never fatal (an unhandled 'error' event would be).
  client.on('error', (err: Error) => {
    lastError = err
    startOutage()
  })
  client.on('message', (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
    if (!settings.commands) return
    const key = topics.commandKey(self, topic)
    if (key === undefined) return
    // A retained command is an old one replayed by the broker at subscribe time: never applied.
    if (packet.retain) return logger.warn('mqtt-command-ignored', { topic, reason: 'retained (clear it with an empty retained message)' })
    const text = payload.toString('utf8')
    if (text === '') return
    try {
      node.set(key, parseCliValue(text))
      commands++
    } catch (err) {
      logger.warn('mqtt-command-failed', { topic, key, error: err instanceof Error ? err : new Error(String(err)) })
    }
  })

  return {
    async stop() {
      if (stopping) return
      stopping = true
      node.off('update', onUpdate)
      node.off('peer-up', onPeerUp)
      node.off('peer-down', onPeerDown)
      if (client.connected) {
        // A clean disconnect discards the will: say offline ourselves, last.
        outbox.put(topics.status(self), OFFLINE)
        outbox.put(topics.bridge(self), OFFLINE)
        flush()
        await drained(() => outbox.size === 0 && inFlight === 0, STOP_TIMEOUT_MS)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => client.end(true, {}, () => resolve()), STOP_TIMEOUT_MS)
        client.end(false, {}, () => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
    stats: () => ({ connected: client.connected, pending: outbox.size, inFlight, published, dropped: outbox.dropped, commands }),
  }
}

function describeUrl(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.host}`
}

function drained(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve) => {
    const check = () => (done() || Date.now() > deadline ? resolve() : setTimeout(check, 10))
    check()
  })
}
