import * as fs from 'node:fs'
import * as path from 'node:path'

/**
 * The rest of the credential dir: node ids pinned to their first key (so a restart does not
 * forget who is who), and the last incarnation used (so a new one is always larger, even if
 * the clock went back).
 */
export function loadPinned(credentialDir: string): Map<string, Uint8Array> {
  const pinned = new Map<string, Uint8Array>()
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(credentialDir, 'pinned.json'), 'utf8')) as Record<string, unknown>
    for (const [nodeId, hex] of Object.entries(raw)) {
      if (typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex)) pinned.set(nodeId, Buffer.from(hex, 'hex'))
    }
  } catch {
    // Missing or unreadable: start with no pins (they are re-learnt on first contact).
  }
  return pinned
}

export function savePinned(credentialDir: string, pinned: ReadonlyMap<string, Uint8Array>): void {
  const out: Record<string, string> = {}
  for (const [nodeId, key] of pinned) out[nodeId] = Buffer.from(key).toString('hex')
  writeAtomically(path.join(credentialDir, 'pinned.json'), JSON.stringify(out, null, 1) + '\n')
}

export function nextIncarnation(credentialDir: string, wallClockMs: number): number {
  const file = path.join(credentialDir, 'incarnation')
  let last = 0
  try {
    // A damaged file (a fraction, a negative or absurd number) must not make a frame field no
    // receiver accepts: whole seconds within the safe range, or start from the clock.
    const stored = Number(fs.readFileSync(file, 'utf8').trim())
    if (Number.isFinite(stored) && stored >= 0 && stored < Number.MAX_SAFE_INTEGER) last = Math.floor(stored)
  } catch {
    // First start.
  }
  // Seconds, not ms: 4 bytes fewer in every frame's CBOR. Two starts within one second still
  // get increasing numbers from the stored counter.
  const next = Math.max(Math.floor(wallClockMs / 1000), last + 1)
  writeAtomically(file, `${next}\n`)
  return next
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, text, { mode: 0o600 })
  fs.renameSync(tmp, file)
}
