import type { DsnOptions } from '../config'
import { configError } from '../errors'
import { DSNode } from './dsnode'
import type { MessageEvent, PeerDownEvent, UpdateEvent } from './events'
import { generateKey } from './generate-key'

export { generateKey }

/**
 * A thin face for people coming from the Python DSN:
 *   const server = await DSNodeServer.start(DSNodeConfig.fromDict({ node_id, port, aes_key, bootstrap_nodes }))
 *   server.node.updateData('temperature', 21.5); server.node.readData('other', 'temperature')
 * `port` is this node's own (unicast) port and `bootstrap_nodes` become static peers, which is
 * what they were in DSN; neither is needed on a LAN with multicast.
 */
export class DSNodeConfig {
  private constructor(readonly options: DsnOptions) {}

  static fromDict(dict: Record<string, unknown>): DSNodeConfig {
    const known = ['node_id', 'port', 'aes_key', 'network_key', 'bootstrap_nodes', 'credential_dir', 'cluster', 'interface', 'multicast_group', 'group_port', 'mdns']
    for (const field of Object.keys(dict)) {
      if (!known.includes(field)) throw configError(field, `unknown field (known: ${known.join(', ')})`)
    }
    const bootstrap = dict.bootstrap_nodes ?? []
    if (!Array.isArray(bootstrap)) throw configError('bootstrap_nodes', 'must be a list of "host:port" or {address, port}')
    const staticPeers = bootstrap.map((b, i) => {
      if (typeof b === 'string') return b
      if (typeof b === 'object' && b !== null && 'address' in b && 'port' in b) return `${String(b.address)}:${String(b.port)}`
      throw configError(`bootstrap_nodes[${i}]`, 'must be "host:port" or {address, port}')
    })
    const options: Record<string, unknown> = {
      nodeId: dict.node_id,
      networkKey: dict.aes_key ?? dict.network_key,
      unicastPort: dict.port,
      staticPeers,
      credentialDir: dict.credential_dir,
      cluster: dict.cluster,
      interface: dict.interface,
      group: dict.multicast_group,
      port: dict.group_port,
      mdns: dict.mdns,
    }
    return new DSNodeConfig(options as DsnOptions)
  }
}

/** The Python DSN's node methods, camel-cased. */
export class CompatNode {
  constructor(readonly inner: DSNode) {}

  updateData(key: string, value: unknown): void {
    this.inner.set(key, value)
  }

  readData(nodeId: string, key: string): unknown {
    return this.inner.get(nodeId, key)
  }

  peers(): string[] {
    return this.inner.peers()
  }

  sendToNode(nodeId: string, data: unknown): Promise<void> {
    return this.inner.send(nodeId, data)
  }

  onUpdate(callback: (event: UpdateEvent) => void): void {
    this.inner.on('update', callback)
  }

  onDisconnect(callback: (event: PeerDownEvent) => void): void {
    this.inner.on('peer-down', callback)
  }

  onReceive(callback: (event: MessageEvent) => void): void {
    this.inner.on('message', callback)
  }
}

export class DSNodeServer {
  private constructor(readonly node: CompatNode) {}

  static async start(config: DSNodeConfig): Promise<DSNodeServer> {
    return new DSNodeServer(new CompatNode(await DSNode.start(config.options)))
  }

  static generateKey(): string {
    return generateKey()
  }

  stop(): Promise<void> {
    return this.node.inner.stop()
  }
}
