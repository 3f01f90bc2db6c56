import * as fs from 'node:fs'
import * as os from 'node:os'
import { DsnError } from '../errors'

export interface ChosenInterface {
  name: string
  address: string
}

/**
 * The interface to use: the configured one (by name or IPv4 address), else the one holding
 * the default route, else the one routing multicast (224.0.0.0/4, as in an isolated lab),
 * else the first non-internal IPv4 interface, else loopback.
 */
export function chooseInterface(configured: string | undefined): ChosenInterface {
  const all = os.networkInterfaces()
  const ipv4 = (name: string) => all[name]?.find((a) => a.family === 'IPv4')?.address
  if (configured !== undefined) {
    const byName = ipv4(configured)
    if (byName) return { name: configured, address: byName }
    for (const [name, addrs] of Object.entries(all)) {
      if (addrs?.some((a) => a.family === 'IPv4' && a.address === configured)) return { name, address: configured }
    }
    const known = Object.keys(all).filter((n) => ipv4(n)).join(', ')
    throw new DsnError('DSN_NO_INTERFACE', `config.interface: no interface named or addressed "${configured}" with an IPv4 address (have: ${known || 'none'})`)
  }
  for (const name of routeInterfaces()) {
    const address = ipv4(name)
    if (address) return { name, address }
  }
  for (const [name, addrs] of Object.entries(all)) {
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal)
    if (a) return { name, address: a.address }
  }
  return { name: 'lo', address: '127.0.0.1' }
}

/** Interfaces of the default route, then of a multicast route, from /proc/net/route. */
function routeInterfaces(): string[] {
  let text: string
  try {
    text = fs.readFileSync('/proc/net/route', 'utf8')
  } catch {
    return []
  }
  const defaults: string[] = []
  const multicast: string[] = []
  for (const line of text.trim().split('\n').slice(1)) {
    const [name, destination, , , , , , mask] = line.trim().split(/\s+/)
    if (destination === '00000000' && mask === '00000000') defaults.push(name)
    // 224.0.0.0/4 in /proc's little-endian hex.
    else if (destination === '000000E0' && mask === '000000F0') multicast.push(name)
  }
  return [...defaults, ...multicast]
}
