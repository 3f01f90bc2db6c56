// Refuse to run mesh code anywhere a datagram could leave the machine.
// Only node built-ins here, so any process (tsx, node -e, a bench worker) can load it.
import { readFileSync, readlinkSync } from 'fs'

// PID 1 may be non-dumpable (its ns links are unreadable even to root);
// PID 2 is kthreadd, which always lives in the initial network namespace.
const INITIAL_NS_REFERENCES = ['/proc/1/ns/net', '/proc/2/ns/net']

function readLink(path: string): string | null {
  try {
    return readlinkSync(path)
  } catch {
    return null
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

// A lab namespace never has a default route: one means a path to the outside.
function defaultRouteDevice(): string | null {
  for (const line of readText('/proc/net/route').split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/)
    if (iface && dest === '00000000' && mask === '00000000') return iface
  }
  const ZERO = '0'.repeat(32)
  for (const line of readText('/proc/net/ipv6_route').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    const [dest, plen, , , , , , , flags, iface] = f
    // RTF_REJECT (0x200) marks the kernel's unreachable placeholder on lo.
    const reject = (parseInt(flags, 16) & 0x200) !== 0
    if (dest === ZERO && plen === '00' && iface !== 'lo' && !reject) return iface
  }
  return null
}

/** Why the current process must not open a mesh socket, or null when it may. */
export function labNamespaceProblem(): string | null {
  const self = readLink('/proc/self/ns/net')
  if (self === null) return 'cannot read /proc/self/ns/net'
  for (const ref of INITIAL_NS_REFERENCES) {
    const initial = readLink(ref)
    if (initial !== null && initial === self) return `this is the initial network namespace (${self})`
  }
  const dev = defaultRouteDevice()
  if (dev !== null) return `this namespace has a default route via ${dev}`
  return null
}

export function isInLabNamespace(): boolean {
  return labNamespaceProblem() === null
}

export function assertInLabNamespace(): void {
  const problem = labNamespaceProblem()
  if (problem !== null) {
    throw new Error(
      `refusing to open a mesh socket outside a test network namespace: ${problem}. ` +
        'Run it through test/lab (createLab().spawn or runInLoopbackNamespace).',
    )
  }
}
