// Drives fixtures/udp-agent.ts processes inside a lab, for tests that need
// plain datagrams rather than the mesh itself.
import { ChildProcessWithoutNullStreams } from 'child_process'
import { resolve } from 'path'
import { LineLog } from './lines'
import type { Lab } from './netns'

export const REPO_ROOT = resolve(__dirname, '..', '..')
export const UDP_AGENT = resolve(__dirname, 'fixtures', 'udp-agent.ts')
export const AGENT_GROUP = '239.47.0.1'

/** process.env minus tap's NODE_OPTIONS hooks, which lab children do not need. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  return env
}

/** Arguments that make `node` run a TypeScript file through tsx. */
export function tsxArgs(file: string, ...args: string[]): string[] {
  return ['--import', 'tsx', file, ...args]
}

export interface UdpAgent {
  host: number
  address: string
  child: ChildProcessWithoutNullStreams
  out: LineLog
  /** One datagram to addr (unicast address or AGENT_GROUP); resolves once sent. */
  send(addr: string, text: string): Promise<void>
  burst(addr: string, prefix: string, count: number): Promise<void>
  /** Resolves when this agent has received text from `from`. */
  received(from: string, text: string, timeoutMs?: number): Promise<string>
  heard(from: string, text: string): boolean
}

export async function startAgent(lab: Lab, host: number, timeoutMs = 15_000): Promise<UdpAgent> {
  const { address } = lab.hosts[host]
  const child = lab.spawn(host, process.execPath, tsxArgs(UDP_AGENT, '--iface', address, '--group', AGENT_GROUP), {
    cwd: REPO_ROOT,
    env: childEnv(),
  })
  const out = new LineLog(child.stdout, `agent h${host}`)
  const err = new LineLog(child.stderr, `agent h${host} stderr`)
  try {
    await out.waitFor(`ready ${address}`, timeoutMs)
  } catch (e) {
    throw new Error(`${(e as Error).message}\nstderr:\n${err.lines.join('\n')}`)
  }
  const command = async (line: string, text: string): Promise<void> => {
    child.stdin.write(`${line}\n`)
    const result = await out.waitFor((l) => l === `sent ${text}` || l.startsWith(`unsent ${text} `))
    if (result.startsWith('unsent')) throw new Error(`agent h${host}: ${result}`)
  }
  return {
    host,
    address,
    child,
    out,
    send: (addr, text) => command(`send ${addr} ${text}`, text),
    burst: (addr, prefix, count) => command(`burst ${addr} ${prefix} ${count}`, prefix),
    received: (from, text, ms = 5000) => out.waitFor(`recv ${from} ${text}`, ms),
    heard: (from, text) => out.has(`recv ${from} ${text}`),
  }
}
